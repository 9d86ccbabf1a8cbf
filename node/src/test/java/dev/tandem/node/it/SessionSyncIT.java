package dev.tandem.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.lab.Cmd;
import dev.tandem.lab.FailoverScenario;
import dev.tandem.lab.LabConfig;
import dev.tandem.lab.LabTopology;
import dev.tandem.lab.TandemPair;
import dev.tandem.linux.Netns;
import dev.tandem.node.daemon.ControlServer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Established connections through the SNAT ruleset survive a crash of the active when sessions are
 * synced (and committed before the addresses move), and die without session sync: 200 long-lived
 * TCP connections and 20 UDP flows client -> server, each exchanging a message every 100 ms.
 */
class SessionSyncIT {
    static final int TCP = 200;
    static final int UDP = 20;
    private static LabTopology lab;

    @BeforeAll
    static void up() {
        lab = new LabTopology("tit" + Integer.toHexString(0x1000 + new Random().nextInt(0xefff)) + "-");
        lab.up(LabConfig.of("default"));
    }

    @AfterAll
    static void down() {
        if (lab != null) {
            lab.down();
        }
    }

    private String status(String fw) {
        try {
            return ControlServer.request(lab.runDir().resolve(fw + ".sock"), "status-json");
        } catch (Exception e) {
            return "unreachable: " + e;
        }
    }

    /** An echo server in the server namespace (TCP and UDP on one port) and the client flows. */
    static final class Flows implements AutoCloseable {
        final List<Socket> clients = new ArrayList<>();
        final List<DatagramSocket> udpClients = new ArrayList<>();
        final long[] lastTcpEcho = new long[TCP];
        final long[] lastUdpEcho = new long[UDP];
        final AtomicLong tcpErrors = new AtomicLong();
        final List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();

        Flows() throws Exception {
            try {
                open();
            } catch (Exception e) {
                close();
                throw e;
            }
        }

        private ServerSocket tcpServer;
        private DatagramSocket udpServer;

        private void open() throws Exception {
            tcpServer = Netns.callIn(lab.ns("server"), () -> {
                ServerSocket s = new ServerSocket();
                s.bind(new InetSocketAddress(InetAddress.getByName(LabTopology.SERVER), 9000), 512);
                return s;
            });
            udpServer = Netns.callIn(lab.ns("server"), () -> new DatagramSocket(new InetSocketAddress(
                    InetAddress.getByName(LabTopology.SERVER), 9000)));
            pool.submit(() -> {
                while (running.get()) {
                    Socket c = tcpServer.accept();
                    pool.submit(() -> echo(c));
                }
                return null;
            });
            pool.submit(() -> {
                byte[] buf = new byte[64];
                while (running.get()) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    udpServer.receive(p);
                    udpServer.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                }
                return null;
            });
            for (int i = 0; i < TCP; i++) {
                clients.add(Netns.callIn(lab.ns("client"), () -> {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress(InetAddress.getByName(LabTopology.SERVER), 9000), 3000);
                    s.setSoTimeout(20_000);
                    s.setTcpNoDelay(true);
                    return s;
                }));
            }
            for (int i = 0; i < UDP; i++) {
                DatagramSocket d = Netns.callIn(lab.ns("client"), () -> {
                    DatagramSocket x = new DatagramSocket();
                    x.connect(new InetSocketAddress(InetAddress.getByName(LabTopology.SERVER), 9000));
                    x.setSoTimeout(200);
                    return x;
                });
                udpClients.add(d);
            }
            for (int i = 0; i < TCP; i++) {
                int k = i;
                pool.submit(() -> tcpFlow(k));
            }
            for (int i = 0; i < UDP; i++) {
                int k = i;
                pool.submit(() -> udpFlow(k));
            }
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

        private void tcpFlow(int k) {
            Socket s = clients.get(k);
            try {
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                for (long n = 0; running.get(); n++) {
                    out.writeLong(n);
                    out.flush();
                    if (in.readLong() != n) {
                        throw new IOException("wrong echo");
                    }
                    lastTcpEcho[k] = System.nanoTime();
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException e) {
                if (running.get()) {
                    tcpErrors.incrementAndGet();
                    errors.add("tcp " + k + ": " + e);
                }
            }
        }

        private void udpFlow(int k) {
            DatagramSocket d = udpClients.get(k);
            byte[] buf = new byte[8];
            while (running.get()) {
                try {
                    d.send(new DatagramPacket(buf, 8));
                    d.receive(new DatagramPacket(new byte[64], 64));
                    lastUdpEcho[k] = System.nanoTime();
                    Thread.sleep(100);
                } catch (SocketTimeoutException e) {
                    // lost: try again
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }

        /** Flows that got an echo after t. */
        int tcpAliveSince(long t) {
            int n = 0;
            for (long x : lastTcpEcho) {
                n += x > t ? 1 : 0;
            }
            return n;
        }

        int udpAliveSince(long t) {
            int n = 0;
            for (long x : lastUdpEcho) {
                n += x > t ? 1 : 0;
            }
            return n;
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            for (Socket s : clients) {
                s.close();
            }
            udpClients.forEach(DatagramSocket::close);
            if (tcpServer != null) {
                tcpServer.close();
            }
            if (udpServer != null) {
                udpServer.close();
            }
            pool.shutdownNow();
        }
    }

    private void crashFw1(TandemPair pair) {
        lab.cutDataPlane("fw1");
        pair.kill("fw1");
        for (String l : lab.firewallLinks()) {
            lab.setLink("fw1", l, false);
        }
    }

    private void startPair(TandemPair pair, boolean sessions) {
        pair.start("fw1");
        dev.tandem.node.it.Netns.await("fw1 active", Duration.ofSeconds(15), () -> lab.active().equals("fw1"));
        pair.start("fw2");
        dev.tandem.node.it.Netns.await("fw2 passive" + (sessions ? " and SYNCED" : ""), Duration.ofSeconds(20),
                () -> status("fw2").contains("\"state\":\"PASSIVE\"")
                        && (!sessions || status("fw2").contains("\"session_sync\":\"SYNCED\"")));
    }

    @Test
    void syncedSessionsSurviveACrashAndAFailbackWithoutADrop() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default").withPreempt(true, 3000));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair, true);
            Flows flows = new Flows();
            try (flows) {
            dev.tandem.node.it.Netns.await("fw2 caches the flows", Duration.ofSeconds(10),
                    () -> status("fw2").matches("(?s).*sessions cached: (2[2-9][0-9]|[3-9][0-9][0-9]).*"));
            lab.resetNoSessionDrops("fw2");
            long crash = System.nanoTime();
            crashFw1(pair);
            dev.tandem.node.it.Netns.await("fw2 holds the VIPs", Duration.ofSeconds(5), () -> Cmd.hasAddress(lab.ns("fw2"),
                    "lan0", LabTopology.LAN_VIP) && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP),
                    () -> "active: " + lab.active() + "\nfw2 status: " + status("fw2") + "\n" + pair.log("fw2"));
            Cmd.sleep(3000);
            assertThat(flows.tcpErrors.get()).as(flows.errors.toString()).isZero();
            assertThat(flows.tcpAliveSince(crash + 1_500_000_000L)).as("TCP flows still exchanging data").isEqualTo(TCP);
            assertThat(flows.udpAliveSince(crash + 1_500_000_000L)).as("UDP flows").isEqualTo(UDP);
            assertThat(lab.noSessionDrops("fw2")).as("packets fw2 dropped for lack of a session").isZero();
            assertThat(pair.log("fw2")).containsPattern("committed (2[2-9][0-9]|[3-9][0-9][0-9]) synced sessions");

            // failback: fw1 returns, gets the table from fw2 (bulk), then preempts after the hold
            lab.restoreDataPlane("fw1");
            for (String l : lab.firewallLinks()) {
                lab.setLink("fw1", l, true);
            }
            Cmd.sleep(300);
            lab.resetNoSessionDrops("fw1");
            pair.start("fw1");
            dev.tandem.node.it.Netns.await("fw1 preempts", Duration.ofSeconds(20), () -> lab.active().equals("fw1"));
            long back = System.nanoTime();
            Cmd.sleep(3000);
            assertThat(flows.tcpErrors.get()).as(flows.errors.toString()).isZero();
            assertThat(flows.tcpAliveSince(back + 1_500_000_000L)).as("TCP flows after the failback").isEqualTo(TCP);
            assertThat(flows.udpAliveSince(back + 1_500_000_000L)).as("UDP flows after the failback").isEqualTo(UDP);
            assertThat(lab.noSessionDrops("fw1")).isZero();
            }
        } finally {
            lab.writeConfig(LabConfig.of("default"));
        }
    }

    @Test
    void withoutSessionSyncTheSameCrashBreaksTheConnections() throws Exception {
        FailoverScenario.reset(lab);
        lab.writeConfig(LabConfig.of("default").withSessions(false));
        try (TandemPair pair = new TandemPair(lab)) {
            startPair(pair, false);
            Flows flows = new Flows();
            try (flows) {
            Cmd.sleep(1000);
            lab.resetNoSessionDrops("fw2");
            long crash = System.nanoTime();
            crashFw1(pair);
            dev.tandem.node.it.Netns.await("fw2 holds the VIPs", Duration.ofSeconds(5), () -> Cmd.hasAddress(lab.ns("fw2"),
                    "lan0", LabTopology.LAN_VIP) && Cmd.hasAddress(lab.ns("fw2"), "wan0", LabTopology.WAN_VIP),
                    () -> "active: " + lab.active() + "\nfw2 status: " + status("fw2") + "\n" + pair.log("fw2"));
            Cmd.sleep(3000);
            assertThat(flows.tcpAliveSince(crash + 1_500_000_000L)).as("TCP flows still alive without sync").isZero();
            assertThat(lab.noSessionDrops("fw2")).as("packets fw2 dropped for lack of a session").isPositive();
            }
        } finally {
            lab.writeConfig(LabConfig.of("default"));
        }
    }
}
