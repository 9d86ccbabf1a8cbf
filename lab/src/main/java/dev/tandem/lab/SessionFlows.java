package dev.tandem.lab;

import dev.tandem.linux.Netns;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * N long-lived TCP connections (and optionally M UDP flows) client → server through the firewall's
 * SNAT, each sending a number every 100 ms and reading its echo: which of them still exchange data
 * after a failover, and which broke (reset, EOF, timeout; a lost UDP datagram is only retried).
 */
public final class SessionFlows implements AutoCloseable {
    public static final int PORT = 9000;
    private final int n;
    private final List<Socket> clients = new ArrayList<>();
    private final long[] lastEcho;
    private final boolean[] broken;
    private final List<String> errors = new CopyOnWriteArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    private ServerSocket server;
    private java.net.DatagramSocket udpServer;
    private final List<java.net.DatagramSocket> udpClients = new ArrayList<>();
    private final long[] lastUdpEcho;

    public SessionFlows(LabTopology lab, int n) {
        this(lab, n, 0);
    }

    public SessionFlows(LabTopology lab, int n, int udp) {
        this.n = n;
        this.lastEcho = new long[n];
        this.broken = new boolean[n];
        this.lastUdpEcho = new long[udp];
        try {
            open(lab);
        } catch (Exception e) {
            close();
            throw new LabException("cannot open " + n + " TCP flows: " + e);
        }
    }

    private void open(LabTopology lab) throws Exception {
        server = Netns.callIn(lab.ns("server"), () -> {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(LabTopology.SERVER), PORT), 4096);
            return s;
        });
        pool.submit(() -> {
            while (running.get()) {
                Socket c = server.accept();
                pool.submit(() -> echo(c));
            }
            return null;
        });
        List<Socket> made = Netns.callIn(lab.ns("client"), () -> {
            List<Socket> l = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                l.add(s);
                s.connect(new InetSocketAddress(InetAddress.getByName(LabTopology.SERVER), PORT), 3000);
                s.setSoTimeout(20_000);
                s.setTcpNoDelay(true);
            }
            return l;
        });
        clients.addAll(made);
        for (int i = 0; i < n; i++) {
            int k = i;
            pool.submit(() -> flow(k));
        }
        if (lastUdpEcho.length > 0) {
            openUdp(lab);
        }
    }

    private void openUdp(LabTopology lab) throws Exception {
        udpServer = Netns.callIn(lab.ns("server"), () -> new java.net.DatagramSocket(new InetSocketAddress(
                InetAddress.getByName(LabTopology.SERVER), PORT)));
        pool.submit(() -> {
            byte[] buf = new byte[64];
            while (running.get()) {
                java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                udpServer.receive(p);
                udpServer.send(new java.net.DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
            }
            return null;
        });
        udpClients.addAll(Netns.callIn(lab.ns("client"), () -> {
            List<java.net.DatagramSocket> l = new ArrayList<>();
            for (int i = 0; i < lastUdpEcho.length; i++) {
                java.net.DatagramSocket d = new java.net.DatagramSocket();
                l.add(d);
                d.connect(new InetSocketAddress(InetAddress.getByName(LabTopology.SERVER), PORT));
                d.setSoTimeout(200);
            }
            return l;
        }));
        for (int i = 0; i < lastUdpEcho.length; i++) {
            int k = i;
            pool.submit(() -> udpFlow(k));
        }
    }

    private void udpFlow(int k) {
        java.net.DatagramSocket d = udpClients.get(k);
        byte[] buf = new byte[8];
        while (running.get()) {
            try {
                d.send(new java.net.DatagramPacket(buf, 8));
                d.receive(new java.net.DatagramPacket(new byte[64], 64));
                lastUdpEcho[k] = System.nanoTime();
                Thread.sleep(100);
            } catch (java.net.SocketTimeoutException e) {
                // lost: send again
            } catch (IOException | InterruptedException e) {
                return;
            }
        }
    }

    /** UDP flows that got an echo after t (System.nanoTime()). */
    public int udpAliveSince(long t) {
        int c = 0;
        for (long x : lastUdpEcho) {
            c += x > t ? 1 : 0;
        }
        return c;
    }

    private void echo(Socket c) {
        try (c) {
            DataInputStream in = new DataInputStream(c.getInputStream());
            DataOutputStream out = new DataOutputStream(c.getOutputStream());
            while (running.get()) {
                out.writeLong(in.readLong());
                out.flush();
            }
        } catch (IOException e) {
            // client gone
        }
    }

    private void flow(int k) {
        Socket s = clients.get(k);
        try {
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            for (long i = 0; running.get(); i++) {
                out.writeLong(i);
                out.flush();
                if (in.readLong() != i) {
                    throw new IOException("wrong echo");
                }
                lastEcho[k] = System.nanoTime();
                Thread.sleep(100);
            }
        } catch (IOException | InterruptedException e) {
            if (running.get()) {
                broken[k] = true;
                errors.add("flow " + k + ": " + e);
            }
        }
    }

    public int size() {
        return n;
    }

    /** Flows that got an echo after t (System.nanoTime()). */
    public int aliveSince(long t) {
        int c = 0;
        for (int i = 0; i < n; i++) {
            c += lastEcho[i] > t && !broken[i] ? 1 : 0;
        }
        return c;
    }

    /** Flows that ended with an error (reset, EOF, timeout). */
    public int broken() {
        int c = 0;
        for (boolean b : broken) {
            c += b ? 1 : 0;
        }
        return c;
    }

    public List<String> errors() {
        return errors;
    }

    @Override
    public void close() {
        running.set(false);
        udpClients.forEach(java.net.DatagramSocket::close);
        if (udpServer != null) {
            udpServer.close();
        }
        for (Socket s : clients) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
        if (server != null) {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing
            }
        }
        pool.shutdownNow();
    }
}
