package dev.tandem.node.channel;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster PKI: a CA, and one key + certificate per node (CN = node name), EC P-256, PEM files
 * in one directory: ca.crt, ca.key, NODE.crt, NODE.key. Certificates are built with Bouncy Castle;
 * TLS is the JDK's.
 */
public final class Pki {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Pki() {}

    public static void init(Path dir, String clusterName) throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        if (Files.exists(dir.resolve("ca.key"))) {
            throw new IOException(dir.resolve("ca.key") + " exists already: refusing to replace the cluster CA");
        }
        KeyPair kp = keyPair();
        X500Name name = new X500Name("CN=Tandem cluster CA " + clusterName.replaceAll("[,=+]", "_"));
        X509Certificate ca = sign(name, kp.getPublic(), name, kp.getPrivate(), true, Duration.ofDays(3650), null);
        write(dir.resolve("ca.crt"), ca, false);
        write(dir.resolve("ca.key"), kp.getPrivate(), true);
    }

    public static void issue(Path dir, String node) throws IOException, GeneralSecurityException {
        issue(dir, node, java.util.List.of());
    }

    /**
     * names: subject alternative names — IP addresses and DNS names the node is reached by (its
     * management address for the dashboard and API), so that browsers and curl accept the
     * certificate by host name. The node name is always one (DNS).
     */
    public static void issue(Path dir, String node, java.util.List<String> names) throws IOException, GeneralSecurityException {
        if (!node.matches("[a-z0-9][a-z0-9-]{0,30}")) {
            throw new IllegalArgumentException("'" + node + "' is not a node name");
        }
        java.util.List<org.bouncycastle.asn1.x509.GeneralName> san = new java.util.ArrayList<>();
        san.add(new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.dNSName, node));
        for (String n : names) {
            if (dev.tandem.core.net.IpAddress.tryParse(n) != null) {
                san.add(new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.iPAddress,
                        dev.tandem.core.net.IpAddress.parse(n).toString()));
            } else if (n.matches("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")) {
                san.add(new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.dNSName, n));
            } else {
                throw new IllegalArgumentException("'" + n + "' is neither an IP address nor a DNS name");
            }
        }
        var altNames = new org.bouncycastle.asn1.x509.GeneralNames(san.toArray(org.bouncycastle.asn1.x509.GeneralName[]::new));
        X509Certificate ca = certificate(dir.resolve("ca.crt"));
        PrivateKey caKey = privateKey(dir.resolve("ca.key"));
        KeyPair kp = keyPair();
        X509Certificate cert = sign(new X500Name("CN=" + node), kp.getPublic(),
                X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), caKey, false, Duration.ofDays(825), altNames);
        write(dir.resolve(node + ".crt"), cert, false);
        write(dir.resolve(node + ".key"), kp.getPrivate(), true);
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X500Name subject, java.security.PublicKey key, X500Name issuer,
                                        PrivateKey issuerKey, boolean ca, Duration validity,
                                        org.bouncycastle.asn1.x509.GeneralNames altNames)
            throws GeneralSecurityException, IOException {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, RANDOM).abs(),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), subject, key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (ca) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[]{KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            if (altNames != null) {
                b.addExtension(Extension.subjectAlternativeName, false, altNames);
            }
        }
        try {
            X509CertificateHolder h = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey));
            return new JcaX509CertificateConverter().getCertificate(h);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static void write(Path f, Object pem, boolean secret) throws IOException {
        StringWriter sw = new StringWriter();
        if (pem instanceof PrivateKey k) { // PKCS#8 "PRIVATE KEY": the JDK's own encoding of the key
            sw.write("-----BEGIN PRIVATE KEY-----\n");
            sw.write(java.util.Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(k.getEncoded()));
            sw.write("\n-----END PRIVATE KEY-----\n");
        } else {
            try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
                w.writeObject(pem);
            }
        }
        Files.writeString(f, sw.toString());
        if (secret) {
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        }
    }

    static X509Certificate certificate(Path f) throws IOException, CertificateException {
        try (Reader r = Files.newBufferedReader(f); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            if (!(o instanceof X509CertificateHolder h)) {
                throw new IOException(f + " holds no certificate");
            }
            return new JcaX509CertificateConverter().getCertificate(h);
        }
    }

    static PrivateKey privateKey(Path f) throws IOException {
        try (Reader r = Files.newBufferedReader(f); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter c = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair kp) {
                return c.getKeyPair(kp).getPrivate();
            }
            if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo pki) {
                return c.getPrivateKey(pki);
            }
            throw new IOException(f + " holds no private key");
        }
    }

    /** TLS 1.3 context: this node's key and certificate, trusting the cluster CA only. */
    public static SSLContext context(Path dir, String node) throws IOException, GeneralSecurityException {
        X509Certificate ca = certificate(dir.resolve("ca.crt"));
        X509Certificate mine = certificate(dir.resolve(node + ".crt"));
        PrivateKey key = privateKey(dir.resolve(node + ".key"));
        char[] pw = new char[0];
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, pw);
        ks.setKeyEntry("node", key, pw, new X509Certificate[]{mine, ca});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, pw);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, pw);
        ts.setCertificateEntry("ca", ca);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), RANDOM);
        return ctx;
    }

    /** The node name a peer certificate claims (its CN), or null. */
    public static String commonName(X509Certificate c) {
        String dn = c.getSubjectX500Principal().getName(X500Principal.RFC2253);
        for (String part : dn.split(",")) {
            if (part.startsWith("CN=")) {
                return part.substring(3);
            }
        }
        return null;
    }
}
