package dev.tandem.node.sync;

import dev.tandem.core.ha.Input;
import dev.tandem.core.net.IpAddress;
import dev.tandem.core.sync.SessionChange;
import dev.tandem.core.sync.SyncMessage;
import dev.tandem.core.sync.SyncReceiver;
import dev.tandem.core.sync.SyncSender;
import dev.tandem.linux.ConntrackEntry;
import dev.tandem.linux.ConntrackEvent;
import dev.tandem.linux.ConntrackEvents;
import dev.tandem.linux.ConntrackSocket;
import dev.tandem.linux.ConntrackView;
import dev.tandem.node.channel.Pki;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * Session sync (SPEC §4) for one node. While ACTIVE it reads conntrack events from the kernel,
 * filters them, and streams them (core {@link SyncSender}) to every peer over the data link (the
 * control link as fallback), mutual TLS 1.3 like the channel. While not active it accepts the
 * active's stream into the external cache (core {@link SyncReceiver}), and on takeover
 * {@link #commit()} writes the cache into the kernel in large batches — the HA loop calls it
 * before it adds the addresses. In direct mode (cluster.sessions.mode) the passive also writes every
 * change into its own kernel as it receives it ({@link KernelSessionWriter}), so commit() has only
 * what is pending left to write.
 *
 * <p>One thread (the sync loop) owns the sender and receiver; readers, the event reader and
 * connectors hand it work through a bounded queue. Nothing here runs on the HA loop except commit().
 */
public final class SessionSync implements AutoCloseable {
    private static final int QUEUE = 200_000;
    /**
     * Conntrack changes waiting between the event reader and the sync loop; beyond, they are dropped and
     * the peers resynced. The system property tandem.sessions.change_queue sets it smaller, for the lab test
     * that overflows it (a real producer needs a passive slower than the table changes for seconds).
     */
    static final int CHANGE_QUEUE = Math.max(16, Math.min(QUEUE, Integer.getInteger("tandem.sessions.change_queue", QUEUE)));
    private static final int CONNECT_TIMEOUT_MS = 1000;
    private static final int SENDER_START_DELAY_MS = 500;
    /**
     * The sender's resend window in bytes of changes (~80,000 changes: over a second at 50,000 changes/s;
     * at low rates the 4096-batch bound comes first). Beyond it a reconnecting peer gets a bulk. Kept
     * small: retained changes are live objects the GC copies and traces (32 MiB cost ~0.3 µs per event).
     */
    private static final long RETAIN_BYTES = 8L << 20;

    /**
     * @param peers peer → its addresses to try, in order (data link first, then the control link)
     * @param local this node's addresses to listen on
     * @param ownAddresses addresses of this firewall: flows to or from them are its own traffic, not synced
     * @param direct direct mode: the passive writes every change into its own kernel as it arrives
     */
    public record Settings(String self, SSLContext tls, int port, List<String> local, Map<String, List<String>> peers,
                           Set<Integer> protocols, Set<String> ownAddresses, int maxEntries, long maxChangesPerSecond,
                           List<dev.tandem.core.net.Cidr> ignore, boolean direct) {
        /** Cache mode. */
        public Settings(String self, SSLContext tls, int port, List<String> local, Map<String, List<String>> peers,
                        Set<Integer> protocols, Set<String> ownAddresses, int maxEntries, long maxChangesPerSecond,
                        List<dev.tandem.core.net.Cidr> ignore) {
            this(self, tls, port, local, peers, protocols, ownAddresses, maxEntries, maxChangesPerSecond, ignore, false);
        }
    }

    private final Settings s;
    private final byte[] frame = new byte[SyncFrameCodec.MAX_FRAME]; // the sync loop's frames to peers, encoded in place
    private final byte[][] ownBytes; // s.ownAddresses() as address bytes (the event reader compares bytes)
    private final byte[][] ignoreBytes; // s.ignore(): network bytes + prefix length
    private final BiConsumer<String, String> log; // kind, text
    private final Consumer<Input> toCore;
    private final BlockingQueue<Runnable> tasks = new ArrayBlockingQueue<>(QUEUE);
    private final Map<String, Conn> conns = new ConcurrentHashMap<>();
    private final List<ServerSocket> servers = new ArrayList<>();
    private final AtomicLong overruns = new AtomicLong();
    private final AtomicLong queueDrops = new AtomicLong();
    /** A change was dropped at the full queue since the sync loop last looked (set by the event reader). */
    private volatile boolean changesLost;
    private final AtomicLong events = new AtomicLong();
    private final AtomicLong badFrames = new AtomicLong();
    // conntrack changes on their way from the event reader to the sync loop: one lock-free queue, drained
    // by one task at a time (a task per event cost a lock and a wake-up of the loop per event)
    private final java.util.concurrent.ConcurrentLinkedQueue<SessionChange> changes = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger changesQueued = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean drainScheduled = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean open = true;
    private volatile boolean active;
    private Thread loop;
    // owned by the sync loop
    private SyncSender sender;
    private final SyncReceiver receiver;
    private ConntrackEvents eventReader;
    private final Object receiverLock = new Object();
    // direct mode: taken around "take kernel writes, write them" (the writer's rounds, and the commit) so that
    // writes reach the kernel in the order they were taken; order: kernelLock, then receiverLock. Fair: a
    // takeover's commit waits for the round being written, not for the writer's whole backlog
    private final java.util.concurrent.locks.ReentrantLock kernelLock = new java.util.concurrent.locks.ReentrantLock(true);
    private final KernelSessionWriter kernelWriter;
    private Thread kernelWriterThread;
    // direct mode: wakes the writer (one token: a wake-up already due covers any number of messages)
    private final java.util.concurrent.BlockingQueue<Boolean> writerWake = new java.util.concurrent.ArrayBlockingQueue<>(1);
    private long lastOverrunBulk = Long.MIN_VALUE;
    /** Why a resync is due once the second since the last one is over (null: none is). */
    private String resyncPendingWhy;
    private volatile String lastCommit = "never";
    private boolean reportedComplete;

    private final class Conn {
        final String peer;
        final Socket socket;
        final OutputStream out;
        final boolean outgoing;

        Conn(String peer, Socket socket, boolean outgoing) throws IOException {
            this.peer = peer;
            this.socket = socket;
            this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
            this.outgoing = outgoing;
        }
    }

    public SessionSync(Settings settings, BiConsumer<String, String> log, Consumer<Input> toCore) {
        this.s = settings;
        this.log = log;
        this.toCore = toCore;
        this.receiver = settings.direct() ? SyncReceiver.direct(settings.maxEntries()) : new SyncReceiver(settings.maxEntries());
        this.kernelWriter = settings.direct() ? new KernelSessionWriter(settings.self(), log) : null;
        this.ownBytes = ownBytes(settings.ownAddresses());
        this.ignoreBytes = ignoreBytes(settings.ignore() == null ? List.of() : settings.ignore());
    }

    public void start() throws IOException {
        rehearseCommit();
        for (String addr : s.local()) {
            ServerSocket ss;
            if (s.tls() != null) {
                SSLServerSocket x = (SSLServerSocket) s.tls().getServerSocketFactory().createServerSocket();
                x.setNeedClientAuth(true);
                x.setEnabledProtocols(new String[]{"TLSv1.3"});
                ss = x;
            } else {
                ss = new ServerSocket();
            }
            ss.setReuseAddress(true);
            ss.bind(new InetSocketAddress(literal(addr), s.port()));
            servers.add(ss);
            Thread.ofPlatform().daemon(true).name("sync-accept-" + addr).start(() -> acceptLoop(ss));
        }
        loop = Thread.ofPlatform().daemon(true).name("sync-loop").start(this::runLoop);
        if (kernelWriter != null) {
            kernelWriterThread = Thread.ofPlatform().daemon(true).name("sync-kernel-writer").start(this::kernelWriteLoop);
        }
        toCore.accept(new Input.SessionSyncState(false, 0));
    }

    private static InetAddress literal(String ip) throws IOException {
        IpAddress a = IpAddress.tryParse(ip);
        if (a == null) {
            throw new IOException("'" + ip + "' is not an address");
        }
        return InetAddress.getByAddress(a.bytes());
    }

    private void submit(Runnable r) {
        if (!tasks.offer(r)) {
            queueDrops.incrementAndGet();
        }
    }

    private void runLoop() {
        long lastExpire = System.nanoTime();
        while (open) {
            try {
                long wait = 50_000_000L;
                if (sender != null) {
                    wait = Math.max(0, Math.min(wait, sender.nextDeadline() - System.nanoTime()));
                }
                Runnable r = tasks.poll(wait, TimeUnit.NANOSECONDS);
                int n = 0;
                while (r != null && n++ < 10_000) {
                    r.run();
                    r = tasks.poll();
                }
                if (r != null) {
                    r.run();
                }
                long now = System.nanoTime();
                startSenderWhenDue(now);
                if (sender != null) {
                    handle(sender.tick(now));
                }
                if (changesLost) {
                    changesLost = false;
                    resync("conntrack changes were dropped at the full queue (" + CHANGE_QUEUE + " changes: the peers "
                            + "acknowledge slower than the table changes)");
                } else if (resyncPendingWhy != null && now - lastOverrunBulk >= 1_000_000_000L) {
                    resync(resyncPendingWhy);
                }
                flushAll();
                if (now - lastExpire > (kernelWriter != null ? SWEEP_DIRECT_NS : SWEEP_CACHE_NS)) {
                    lastExpire = now;
                    sweepCache(now);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.accept("WARNING", s.self() + " session sync: " + e);
            }
        }
    }

    private long droppedReported;
    private long droppedReportedAt = Long.MIN_VALUE;

    /** How often the cache is swept for ended sessions (and, direct mode, kernel entries refreshed). */
    private static final long SWEEP_CACHE_NS = 10_000_000_000L;
    private static final long SWEEP_DIRECT_NS = 2_000_000_000L;
    /**
     * Direct mode: kernel entries refreshed (or refused writes retried) a sweep at most (12,500 a second: a
     * million sessions that live 120 s timeouts without changing); the kernel writer writes them in its rounds.
     */
    static final int REFRESH_PER_SWEEP = 25_000;

    /**
     * Forgets sessions that ended; in direct mode, while the active is heard, starts the timeout again
     * of the kernel entries of sessions that live on at the active without a change (no event says so).
     */
    private void sweepCache(long now) {
        boolean wasComplete;
        boolean complete;
        int ended;
        long dropped;
        int size;
        boolean direct = kernelWriter != null;
        synchronized (receiverLock) {
            catchUpRole();
            wasComplete = receiver.state() == SyncReceiver.State.SYNCED;
            ended = receiver.expire(now, REFRESH_PER_SWEEP); // (refreshes and retries only in direct mode)
            complete = receiver.state() == SyncReceiver.State.SYNCED;
            dropped = receiver.dropped();
            size = receiver.size();
            noteReceiver();
        }
        if (direct) {
            writerWake.offer(Boolean.TRUE); // the refreshes are written like a message's writes, in order with them
        }
        if (dropped > droppedReported && (droppedReportedAt == Long.MIN_VALUE || now - droppedReportedAt >= 60_000_000_000L)) {
            // the sessions the cache had no room for break at a takeover: say so, at most once a minute
            log.accept("WARNING", s.self() + " session sync: the cache is full (" + size + " of " + s.maxEntries()
                    + " sessions): " + (dropped - droppedReported) + " sessions were not kept since the last warning ("
                    + dropped + " in all) and would break at a takeover; raise cluster.sessions.max_entries");
            droppedReported = dropped;
            droppedReportedAt = now;
        }
        if (wasComplete && !complete && !active) {
            log.accept("WARNING", s.self() + " session sync: " + ended + " cached sessions ended their timeout while the "
                    + "active was not heard (data link down?); they may live on there, so the cache is no longer a "
                    + "copy: a bulk is asked for at the next connection");
            reportState();
        }
    }

    // ------------------------------------------------------------------ role

    /** The HA state changed: streaming while active, receiving otherwise. Called from any thread. */
    public void role(boolean nowActive) {
        if (nowActive == active) {
            return;
        }
        active = nowActive;
        if (!nowActive) {
            senderDue = false;
            submit(this::stopSending);
            if (kernelWriter != null) {
                // while active this node forwarded the synced flows: its kernel entries have live TCP
                // windows and flows it saw alone; have the new active's bulk recreate every session. Handed
                // off (this is the HA loop, and the receiver's lock may be held by a sweep for ms): whatever
                // touches the receiver next does it first (catchUpRole), the sync loop at the latest
                receiverState = SyncReceiver.State.BULK_SYNC;
                forgetKernelPending = true;
                submit(() -> {
                    synchronized (receiverLock) {
                        catchUpRole();
                        noteReceiver();
                    }
                    reportState();
                });
            }
            return;
        }
        // not during the takeover itself: the dump, the TLS handshakes and the first bulk to the new
        // passive are not urgent, and on a small host they would compete with the forwarding for CPU. The sync
        // loop starts the sender (startSenderWhenDue): this is called on the HA loop, which must not start a
        // thread here (a first virtual thread held it 9-11 ms at a takeover in the lab)
        senderDueAt = System.nanoTime() + SENDER_START_DELAY_MS * 1_000_000L;
        senderDue = true;
    }

    /** The sender is to start at senderDueAt (set by role(true) on the HA loop, read by the sync loop). */
    private volatile boolean senderDue;
    private volatile long senderDueAt;
    /** A commit is writing into the kernel (held by commit() for its whole length). */
    private volatile boolean committing;

    /**
     * On the sync loop: starts the sender once it is due and no commit is running. Not during the takeover's
     * commit (on the daemon's commit thread by then): an event subscription open meanwhile has the kernel build
     * a NEW event for every committed session, and this node read and queue them all; seen: 1,000,000 sessions
     * committed in 12.2 s instead of ~3 s.
     */
    private void startSenderWhenDue(long now) {
        if (!senderDue || now - senderDueAt < 0 || committing) {
            return;
        }
        senderDue = false;
        if (active && sender == null) {
            becomeSender();
        }
    }

    private void becomeSender() {
        sender = new SyncSender(new SyncSender.Config(512, 60_000, 1_000_000L, 4096, s.maxChangesPerSecond(), 500_000,
                RETAIN_BYTES),
                System.currentTimeMillis());
        changes.clear();
        changesQueued.set(0);
        try {
            // events decoded into one reused view and encoded straight from it: no entry, no InetAddress per event
            eventReader = ConntrackEvents.openViews(EnumSet.of(ConntrackEvent.Type.NEW, ConntrackEvent.Type.UPDATE,
                    ConntrackEvent.Type.DESTROY), 64 << 20, new ConntrackEvents.ViewListener() {
                        @Override
                        public void event(ConntrackView e) {
                            events.incrementAndGet();
                            SessionChange c = change(e);
                            if (c != null) {
                                enqueue(c);
                            }
                        }

                        @Override
                        public void overrun() {
                            overruns.incrementAndGet();
                            submit(SessionSync.this::resyncAfterOverrun);
                        }
                    });
        } catch (RuntimeException e) {
            log.accept("ALARM", s.self() + " session sync: cannot read conntrack events: " + e.getMessage());
        }
        for (String peer : s.peers().keySet()) {
            Thread.ofPlatform().daemon(true).name("sync-connect-" + peer).start(() -> connectLoop(peer));
        }
    }

    private void enqueue(SessionChange c) {
        if (changesQueued.incrementAndGet() > CHANGE_QUEUE) {
            changesQueued.decrementAndGet();
            queueDrops.incrementAndGet();
            // the peers' copies now miss a change, as after a receive buffer overrun: the sync loop resyncs them
            changesLost = true;
            return;
        }
        changes.add(c);
        if (drainScheduled.compareAndSet(false, true) && !tasks.offer(this::drainChanges)) {
            drainScheduled.set(false); // the next event tries again
        }
    }

    /** On the sync loop: every queued change, in the order the kernel reported them. */
    private void drainChanges() {
        drainScheduled.set(false);
        long now = System.nanoTime();
        int n = 0;
        for (SessionChange c = changes.poll(); c != null; c = changes.poll()) {
            changesQueued.decrementAndGet();
            if (sender != null) {
                handle(sender.change(now, c));
            }
            if ((++n & 1023) == 0) {
                now = System.nanoTime();
            }
        }
    }

    private void stopSending() {
        if (eventReader != null) {
            eventReader.close();
            eventReader = null;
        }
        sender = null;
        for (Conn c : conns.values()) {
            if (c.outgoing) {
                closeQuietly(c.socket);
            }
        }
        // the next active's stream has another epoch: its first Resume from us brings a bulk
    }

    /** The kernel dropped events (ENOBUFS): everyone gets the table again, at most once a second. */
    private void resyncAfterOverrun() {
        resync("conntrack events were lost (receive buffer overrun)");
    }

    /** Changes were lost on their way to the peers: everyone gets the table again, at most once a second. */
    private void resync(String why) {
        long now = System.nanoTime();
        if (sender == null) {
            return;
        }
        // (Long.MIN_VALUE: never; now - MIN_VALUE would overflow to a negative and ignore the first overrun)
        if (lastOverrunBulk != Long.MIN_VALUE && now - lastOverrunBulk < 1_000_000_000L) {
            resyncPendingWhy = why; // lost again: resync when the second is over, not never
            return;
        }
        resyncPendingWhy = null;
        drainChanges(); // what was read before the overrun goes first
        lastOverrunBulk = now;
        log.accept("WARNING", s.self() + " session sync: " + why + ": bulk resync of every peer");
        for (Map.Entry<String, Conn> e : conns.entrySet()) {
            if (e.getValue().outgoing) {
                handle(sender.disconnected(now, e.getKey()));
                handle(sender.connected(now, e.getKey()));
                handle(sender.received(now, e.getKey(), new SyncMessage.Resume(-1, 0, false)));
            }
        }
    }

    /**
     * The addresses whose flows are this firewall's own traffic, not synced: its interface addresses and its
     * virtual addresses — unless syncLocal (cluster.sessions.local), which syncs the traffic of services on the
     * virtual addresses (they move to the new active, and so can their flows). A node's own addresses never:
     * no other node has them (the sync stream itself is among that traffic).
     */
    public static Set<String> ownTraffic(Set<String> interfaceAddresses, Set<String> virtualAddresses, boolean syncLocal) {
        Set<String> own = new java.util.HashSet<>(interfaceAddresses);
        if (syncLocal) {
            own.removeAll(virtualAddresses); // (on the interfaces too while this node is active)
        } else {
            own.addAll(virtualAddresses);
        }
        return Set.copyOf(own);
    }

    /** A kernel event as a change of the synced table, or null when filtered out. */
    SessionChange change(ConntrackEvent e) {
        ConntrackEntry en = e.entry();
        if (!s.protocols().contains(en.protocol())) {
            return null;
        }
        if (s.ownAddresses().contains(en.original().source().getHostAddress())
                || s.ownAddresses().contains(en.original().destination().getHostAddress())
                || s.ownAddresses().contains(en.reply().source().getHostAddress())) {
            return null; // the firewall's own traffic (the sync stream itself among it)
        }
        for (dev.tandem.core.net.Cidr c : s.ignore()) {
            if (c.contains(IpAddress.of(en.original().source().getAddress()))
                    || c.contains(IpAddress.of(en.original().destination().getAddress()))) {
                return null; // configured not to sync
            }
        }
        byte[] key = SessionCodec.key(en);
        if (e.type() == ConntrackEvent.Type.DESTROY) {
            return SessionChange.delete(key);
        }
        return SessionChange.upsert(key, SessionCodec.value(en), (int) Math.min(Integer.MAX_VALUE, en.timeoutSeconds()));
    }

    /** {@link #change(ConntrackEvent)} of the event a view holds (the event reader's hot path): the same change. */
    SessionChange change(ConntrackView v) {
        if (!s.protocols().contains(v.protocol())) {
            return null;
        }
        int n = v.addressLength();
        if (isOwn(v.source(ConntrackView.ORIGINAL), n) || isOwn(v.destination(ConntrackView.ORIGINAL), n)
                || isOwn(v.source(ConntrackView.REPLY), n)) {
            return null; // the firewall's own traffic (the sync stream itself among it)
        }
        for (byte[] c : ignoreBytes) {
            if (inCidr(c, v.source(ConntrackView.ORIGINAL), n) || inCidr(c, v.destination(ConntrackView.ORIGINAL), n)) {
                return null; // configured not to sync
            }
        }
        byte[] key = SessionCodec.key(v);
        if (v.type() == ConntrackEvent.Type.DESTROY) {
            return SessionChange.delete(key);
        }
        return SessionChange.upsert(key, SessionCodec.value(v), (int) Math.min(Integer.MAX_VALUE, v.timeoutSeconds()));
    }

    private boolean isOwn(byte[] a, int n) {
        for (byte[] o : ownBytes) {
            if (o.length == n && java.util.Arrays.equals(o, 0, n, a, 0, n)) {
                return true;
            }
        }
        return false;
    }

    /** c: the network's address bytes followed by one byte of prefix length. */
    private static boolean inCidr(byte[] c, byte[] a, int n) {
        if (c.length - 1 != n) {
            return false;
        }
        int prefix = c[n] & 0xff;
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (c[i] != a[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (c[full] & mask) == (a[full] & mask);
    }

    private static byte[][] ownBytes(Set<String> own) {
        List<byte[]> l = new ArrayList<>();
        for (String a : own) {
            try {
                l.add(InetAddress.ofLiteral(a).getAddress());
            } catch (IllegalArgumentException e) {
                // not a literal address: it cannot match an address of a conntrack tuple either
            }
        }
        return l.toArray(byte[][]::new);
    }

    private static byte[][] ignoreBytes(List<dev.tandem.core.net.Cidr> ignore) {
        byte[][] out = new byte[ignore.size()][];
        for (int i = 0; i < out.length; i++) {
            byte[] a = ignore.get(i).address().bytes();
            out[i] = java.util.Arrays.copyOf(a, a.length + 1);
            out[i][a.length] = (byte) ignore.get(i).prefixLength();
        }
        return out;
    }

    // ------------------------------------------------------------------ sender side

    private void connectLoop(String peer) {
        int backoff = 100;
        while (open && active) {
            if (conns.containsKey(peer)) {
                sleep(200);
                continue;
            }
            Socket sock = null;
            for (String addr : s.peers().get(peer)) {
                try {
                    sock = s.tls() != null ? s.tls().getSocketFactory().createSocket() : new Socket();
                    sock.connect(new InetSocketAddress(literal(addr), s.port()), CONNECT_TIMEOUT_MS);
                    sock.setTcpNoDelay(true);
                    if (sock instanceof SSLSocket ssl) {
                        ssl.setEnabledProtocols(new String[]{"TLSv1.3"});
                        ssl.startHandshake();
                        String cn = Pki.commonName((X509Certificate) ssl.getSession().getPeerCertificates()[0]);
                        if (!peer.equals(cn)) {
                            throw new IOException("expected " + peer + " at " + addr + ", its certificate names " + cn);
                        }
                    }
                    break;
                } catch (IOException e) {
                    closeQuietly(sock);
                    sock = null;
                }
            }
            if (sock == null) {
                sleep(backoff);
                backoff = Math.min(2000, backoff * 2);
                continue;
            }
            backoff = 100;
            try {
                Conn c = new Conn(peer, sock, true);
                conns.put(peer, c);
                String where = sock.getInetAddress().getHostAddress();
                submit(() -> {
                    if (sender != null) {
                        log.accept("INFO", s.self() + " session sync: streaming to " + peer + " (" + where + ")");
                        handle(sender.connected(System.nanoTime(), peer));
                    }
                });
                readLoop(c, m -> {
                    long at = System.nanoTime(); // an ack's lag ends when it arrives, not when the loop gets to it
                    submit(() -> {
                        if (sender != null) {
                            handle(sender.received(at, peer, m));
                        }
                    });
                });
            } catch (IOException e) {
                // reader ended
            } finally {
                conns.remove(peer);
                closeQuietly(sock);
                submit(() -> {
                    if (sender != null) {
                        handle(sender.disconnected(System.nanoTime(), peer));
                    }
                });
            }
        }
    }

    private void handle(List<SyncSender.Out> outs) {
        for (int i = 0; i < outs.size(); i++) { // (indexed: most calls hand an empty list, no iterator for it)
            SyncSender.Out o = outs.get(i);
            switch (o) {
                case SyncSender.Out.Send snd -> write(snd.peer(), snd.message());
                case SyncSender.Out.Dump d -> dumpFor(d.peer());
                case SyncSender.Out.Disconnect d -> {
                    Conn c = conns.get(d.peer());
                    if (c != null) {
                        closeQuietly(c.socket);
                    }
                    log.accept("WARNING", s.self() + " session sync: dropping " + d.peer() + ": " + d.why());
                }
                case SyncSender.Out.Note n -> log.accept("INFO", s.self() + " " + n.text());
            }
        }
    }

    private void dumpFor(String peer) {
        List<SessionChange> table = new ArrayList<>();
        try (ConntrackSocket ct = ConntrackSocket.open()) {
            ct.dump(en -> {
                SessionChange c = change(new ConntrackEvent(ConntrackEvent.Type.NEW, en));
                if (c != null) {
                    table.add(c);
                }
            });
        } catch (RuntimeException e) {
            log.accept("WARNING", s.self() + " session sync: dump for " + peer + " failed: " + e.getMessage());
        }
        handle(sender.bulk(System.nanoTime(), peer, table));
    }

    private void write(String peer, SyncMessage m) {
        Conn c = conns.get(peer);
        if (c == null) {
            return;
        }
        try {
            c.out.write(frame, 0, SyncFrameCodec.encode(m, frame));
        } catch (IOException e) {
            closeQuietly(c.socket);
        }
    }

    private void flushAll() {
        for (Conn c : conns.values()) {
            try {
                c.out.flush();
            } catch (IOException e) {
                closeQuietly(c.socket);
            }
        }
    }

    // ------------------------------------------------------------------ receiver side

    private void acceptLoop(ServerSocket ss) {
        while (open) {
            Socket sock;
            try {
                sock = ss.accept();
            } catch (IOException e) {
                continue;
            }
            Thread.ofPlatform().daemon(true).name("sync-in").start(() -> serveIncoming(sock));
        }
    }

    private void serveIncoming(Socket sock) {
        String peer = null;
        try {
            sock.setTcpNoDelay(true);
            if (sock instanceof SSLSocket ssl) {
                ssl.setSoTimeout(3000);
                ssl.startHandshake();
                ssl.setSoTimeout(0);
                peer = Pki.commonName((X509Certificate) ssl.getSession().getPeerCertificates()[0]);
            } else {
                peer = peerByAddress(sock.getInetAddress());
            }
            if (peer == null || !s.peers().containsKey(peer)) {
                throw new IOException("not a peer: " + sock.getInetAddress().getHostAddress());
            }
            String p = peer;
            Conn c = new Conn(peer, sock, false);
            synchronized (receiverLock) {
                catchUpRole();
                c.out.write(SyncFrameCodec.encode(receiver.resume()));
            }
            c.out.flush();
            log.accept("INFO", s.self() + " session sync: receiving from " + p);
            readLoop(c, m -> {
                List<SyncMessage> replies = kernelWriter != null ? receiveDirect(m) : null;
                if (replies == null) {
                    synchronized (receiverLock) {
                        catchUpRole();
                        replies = receiver.received(System.nanoTime(), m);
                        noteReceiver();
                    }
                }
                try {
                    for (SyncMessage r : replies) {
                        c.out.write(SyncFrameCodec.encode(r));
                    }
                    c.out.flush();
                } catch (IOException e) {
                    closeQuietly(sock);
                }
                reportState();
            });
        } catch (IOException e) {
            if (peer != null || open) {
                log.accept("WARNING", s.self() + " session sync: connection from "
                        + (peer != null ? peer : sock.getInetAddress().getHostAddress()) + " ended: " + e.getMessage());
            }
        } finally {
            closeQuietly(sock);
        }
    }

    /**
     * Writes taken in one round of the kernel writer, at most: a takeover's commit waits for the round under
     * way (~0.05 s at ~100,000 writes a second; in the lab, with both firewalls and the producer on one
     * kernel, a round of 20,000 held a commit 475 ms).
     */
    static final int WRITES_PER_ROUND = 5_000;
    /**
     * Writes waiting for the writer above which an incoming message waits (up to a second) before it is
     * acknowledged: the active then slows down to what this node's kernel takes, rather than this node
     * holding an ever longer backlog (what a takeover would have to write before the addresses move).
     */
    static final int PENDING_HIGH = 200_000;

    /**
     * Direct mode: applies the message and acknowledges it; the kernel writer writes what it changed into
     * this node's kernel on its own thread (changes of one session meanwhile fold into one write), so the
     * stream is not held back by each message's system calls, unless that backlog passes PENDING_HIGH.
     */
    private List<SyncMessage> receiveDirect(SyncMessage m) {
        List<SyncMessage> replies;
        int pending;
        synchronized (receiverLock) {
            catchUpRole();
            replies = receiver.received(System.nanoTime(), m);
            pending = receiver.pendingKernelWrites();
            noteReceiver();
        }
        if (pending > 0) {
            writerWake.offer(Boolean.TRUE);
        }
        // bounded: 100 waits of 10 ms
        for (int i = 0; i < 100 && pending > PENDING_HIGH && open; i++) {
            sleep(10);
            synchronized (receiverLock) {
                pending = receiver.pendingKernelWrites();
            }
        }
        return replies;
    }

    /** Direct mode's kernel writer: a round whenever writes are pending (woken, or every 100 ms). */
    private void kernelWriteLoop() {
        while (open) {
            try {
                if (!writeRound()) {
                    writerWake.poll(100, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.accept("WARNING", s.self() + " session sync (direct): kernel writer: " + e);
                sleep(100);
            }
        }
    }

    /**
     * Takes up to WRITES_PER_ROUND pending writes and writes them. Not while active: what is pending then
     * is the takeover's commit's to write (role(true) comes before the commit thread runs; a round that took
     * writes and skipped them would lose those sessions from the kernel); once passive again, the kernel is
     * forgotten and the pending creates and updates with it. A round under way when the node becomes active
     * finishes: the commit waits for it (kernelLock) and writes the rest. Returns whether more are pending.
     */
    private boolean writeRound() {
        if (active) {
            return false;
        }
        kernelLock.lock();
        try {
            List<SyncReceiver.KernelWrite> writes;
            boolean more;
            synchronized (receiverLock) {
                catchUpRole();
                writes = receiver.takeKernelWrites(WRITES_PER_ROUND);
                more = receiver.pendingKernelWrites() > 0;
                noteReceiver();
            }
            if (writes.isEmpty()) {
                return false;
            }
            KernelSessionWriter.Outcome o = kernelWriter.write(writes);
            noteRefused(o);
            if (o.nanos() > 1_000_000_000L) {
                log.accept("INFO", s.self() + " session sync (direct): " + writes.size() + " kernel writes took "
                        + o.nanos() / 1_000_000 + " ms (" + o.written() + " written, " + o.failed() + " refused)");
            }
            return more;
        } finally {
            kernelLock.unlock();
        }
    }

    private String peerByAddress(InetAddress a) {
        for (Map.Entry<String, List<String>> e : s.peers().entrySet()) {
            for (String addr : e.getValue()) {
                try {
                    if (literal(addr).equals(a)) {
                        return e.getKey();
                    }
                } catch (IOException ignored) {
                    // not an address
                }
            }
        }
        return null;
    }

    /** Tells the core when the copy became complete or stopped being so (reader threads, the HA loop, the sync loop). */
    private synchronized void reportState() {
        SyncReceiver.State st;
        long n;
        synchronized (receiverLock) {
            catchUpRole();
            st = receiver.state();
            n = receiver.size();
        }
        boolean complete = st == SyncReceiver.State.SYNCED;
        if (complete != reportedComplete) {
            reportedComplete = complete;
            toCore.accept(new Input.SessionSyncState(complete, n));
            log.accept("INFO", s.self() + " session sync: " + (complete ? "SYNCED (" + n + " sessions)" : "BULK_SYNC"));
        }
    }

    private void readLoop(Conn c, Consumer<SyncMessage> onMessage) throws IOException {
        InputStream in = c.socket.getInputStream();
        try {
            for (long i = 0; open; i++) {
                SyncMessage m = SyncFrameCodec.read(in);
                if (m == null) {
                    return;
                }
                onMessage.accept(m);
            }
        } catch (SyncFrameCodec.BadFrame e) {
            badFrames.incrementAndGet();
            log.accept("WARNING", s.self() + " session sync: bad frame from " + c.peer + ": " + e.getMessage()
                    + "; closing the connection");
            throw e;
        }
    }

    // ------------------------------------------------------------------ takeover

    /**
     * Writes every cached session into the kernel (create; update where it exists). Called by the
     * HA loop before it adds the addresses. Returns a line for the event log.
     */
    public String commit() {
        synchronized (commitLock) {
            committing = true;
            try {
                return commitOnce();
            } finally {
                committing = false;
            }
        }
    }

    /** One commit at a time (the loop's inline ones, the commit thread's, the start's rehearsal): one socket. */
    private final Object commitLock = new Object();

    /**
     * About how many sessions a commit now would write: the cache (cache mode) or the changes not yet
     * written (direct mode). The daemon commits a small number on its loop, a larger one on its commit
     * thread while the adverts go on.
     */
    public int sessionsToCommit() {
        return toCommit;
    }

    // what the HA loop (sessionsToCommit at a takeover) and the channel (state in every hello) read without
    // receiverLock: a sweep of a million cached sessions holds it for milliseconds
    private volatile SyncReceiver.State receiverState = SyncReceiver.State.BULK_SYNC;
    private volatile int toCommit;

    /** Direct mode: this node left ACTIVE and the receiver has not forgotten its kernel yet. */
    private volatile boolean forgetKernelPending;

    /** Inside receiverLock, before anything else reads or changes the receiver: what role(false) handed off. */
    private void catchUpRole() {
        assert Thread.holdsLock(receiverLock);
        if (forgetKernelPending) {
            forgetKernelPending = false;
            receiver.forgetKernel();
        }
    }

    /** Inside receiverLock, after the receiver changed. */
    private void noteReceiver() {
        assert Thread.holdsLock(receiverLock);
        receiverState = receiver.state();
        toCommit = kernelWriter != null ? receiver.pendingKernelWrites() + receiver.refusedByKernel() : receiver.size();
    }

    private String commitOnce() {
        if (kernelWriter != null) {
            return commitDirect();
        }
        long t0 = System.nanoTime();
        long cpu0 = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        List<byte[]> values;
        boolean complete;
        synchronized (receiverLock) {
            catchUpRole();
            values = receiver.sessions();
            complete = receiver.state() == SyncReceiver.State.SYNCED;
        }
        SessionCommit.Result r;
        if (values.isEmpty()) {
            r = new SessionCommit.Result(0, 0, 0, 0);
        } else {
            try {
                r = SessionCommit.commit(commitSocket(), values);
            } catch (RuntimeException e) {
                closeCommitSocket(); // opened again at the next commit
                return "session commit failed: " + e.getMessage();
            }
        }
        // the committing thread's CPU (user + kernel: ctnetlink works in its sendto) beside the wall time tells a
        // kernel-bound commit from one that waited
        long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0;
        String line = "committed " + r.committed() + " synced sessions into the kernel in "
                + (System.nanoTime() - t0) / 100_000 / 10.0 + " ms (thread CPU " + cpu / 1_000_000 + " ms; " + r.replaced()
                + " replaced stale entries, " + r.failed() + " failed, " + r.undecodable() + " undecodable)"
                + (complete ? "" : "; the bulk sync had not completed");
        lastCommit = line;
        return line;
    }

    /** The socket commits use, opened once (at start, by the rehearsal): opening one costs on the takeover path. */
    private ConntrackSocket commitSocket;

    private ConntrackSocket commitSocket() {
        if (commitSocket == null) {
            commitSocket = ConntrackSocket.open();
        }
        return commitSocket;
    }

    private void closeCommitSocket() {
        if (commitSocket != null) {
            commitSocket.close();
            commitSocket = null;
        }
    }

    /**
     * Plays the commit path at start with entries no real flow has (TEST-NET-3, UDP port 9, created
     * with a 1 s timeout and deleted at once): socket, codecs and the kernel round trip are warm
     * before the first takeover. Measured on the lab: the first commit of a fresh JVM took 15.6 ms for
     * one session, which the link-down failover paid on top of its takeover.
     */
    private void rehearseCommit() {
        synchronized (commitLock) {
            rehearseCommitOnce();
        }
    }

    private void rehearseCommitOnce() {
        try {
            List<ConntrackEntry> fake = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                ConntrackEntry e = ConntrackEntry.of(ConntrackEntry.UDP, ConntrackEntry.Tuple.ports(
                        InetAddress.getByAddress(new byte[]{(byte) 203, 0, 113, (byte) (1 + i)}),
                        InetAddress.getByAddress(new byte[]{(byte) 203, 0, 113, (byte) 200}), 9, 9), 1, null);
                fake.add(SessionCodec.decode(SessionCodec.value(e)));
            }
            ConntrackSocket ct = commitSocket();
            for (int round = 0; round < 30; round++) {
                ct.create(fake);
                ct.delete(fake);
            }
        } catch (IOException | SessionCodec.BadSession | RuntimeException e) {
            closeCommitSocket();
            log.accept("WARNING", s.self() + " session commit rehearsal failed (the first commit may be slower): "
                    + e.getMessage());
        }
    }

    /** Direct mode: the sessions whose writes the kernel refused go back to the receiver, to be written again. */
    private void noteRefused(KernelSessionWriter.Outcome o) {
        if (!o.refusedKeys().isEmpty()) {
            synchronized (receiverLock) {
                receiver.kernelRefused(o.refusedKeys());
                noteReceiver();
            }
        }
    }

    /**
     * Direct mode's takeover: the kernel already holds the synced sessions (written as they came);
     * only the writes taken from the receiver and not yet written remain (normally none).
     */
    private String commitDirect() {
        long t0 = System.nanoTime();
        KernelSessionWriter.Outcome o;
        int cached;
        int retried;
        boolean complete;
        kernelLock.lock();
        try {
            List<SyncReceiver.KernelWrite> writes;
            synchronized (receiverLock) {
                catchUpRole();
                retried = receiver.retryRefused(Integer.MAX_VALUE); // the kernel must hold the table before the addresses move
                writes = receiver.takeKernelWrites();
                cached = receiver.size();
                complete = receiver.state() == SyncReceiver.State.SYNCED;
                noteReceiver();
            }
            o = kernelWriter.write(writes);
            noteRefused(o);
        } finally {
            kernelLock.unlock();
        }
        String line = "direct mode: the kernel already holds the synced sessions (" + cached + " cached, "
                + kernelWriter.injected() + " written so far, " + kernelWriter.failed() + " refused); "
                + o.written() + " pending change(s) written in " + (System.nanoTime() - t0) / 100_000 / 10.0 + " ms ("
                + o.failed() + " failed" + (retried > 0 ? "; " + retried + " of them refused by the kernel before and retried" : "")
                + ")" + (complete ? "" : "; the bulk sync had not completed");
        lastCommit = line;
        return line;
    }

    private volatile List<SyncSender.PeerStats> lastPeerStats = List.of();

    /**
     * The sender's figures per peer, taken on the sync loop (the sender's owner: it is not thread-safe); the
     * last ones taken when the loop is busy for over a second (a bulk's dump).
     */
    private List<SyncSender.PeerStats> peerStats() {
        if (!active || sender == null) {
            return List.of();
        }
        if (Thread.currentThread() == loop) {
            return sender.stats(); // on the owner already (waiting for a task of its own would only time out)
        }
        java.util.concurrent.CompletableFuture<List<SyncSender.PeerStats>> f = new java.util.concurrent.CompletableFuture<>();
        if (tasks.offer(() -> f.complete(sender == null ? List.of() : sender.stats()))) {
            try {
                lastPeerStats = f.get(1, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                // the last ones
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return lastPeerStats;
    }

    /** Lines for `tandem status`. */
    public List<String> describe() {
        List<String> l = new ArrayList<>();
        if (active && sender != null) {
            long now = System.nanoTime();
            for (SyncSender.PeerStats p : peerStats()) {
                l.add("sessions to " + p.peer() + ": " + (p.connected() ? (p.inBulk() ? "BULK_SYNC" : "streaming") : "not connected")
                        + ", " + p.entriesSent() + " entries sent (" + p.entriesPerSecond() + "/s), lag "
                        + p.lagNanos() / 1000 + " µs (p50 "
                        + p.lag().p50Nanos() / 1000 + " µs, p99 " + p.lag().p99Nanos() / 1000 + " µs, max "
                        + p.lag().maxNanos() / 1000 + " µs over the last " + p.lag().samples() + " batches), queue "
                        + p.queueBatches() + " batches, resends " + p.resends() + ", last bulk "
                        + (p.lastBulkAt() == Long.MIN_VALUE ? "never" : p.lastBulkEntries() + " entries "
                                + (now - p.lastBulkAt()) / 1_000_000_000L + " s ago"));
            }
            l.add("conntrack events read " + events.get() + ", overruns " + overruns.get() + ", queue drops " + queueDrops.get());
        } else {
            synchronized (receiverLock) {
                l.add("sessions cached: " + receiver.size() + " (" + receiver.state() + "), batches applied up to "
                        + receiver.lastSeq() + ", changes applied " + receiver.applied() + " ("
                        + receiver.appliedPerSecond() + "/s), gaps " + receiver.gaps() + ", dropped (cache full) " + receiver.dropped()
                        + ", evicted for longer-lived " + receiver.evicted()
                        + (kernelWriter != null ? ", kernel entries refreshed " + receiver.refreshed()
                        + ", kernel writes pending " + receiver.pendingKernelWrites()
                        + ", not in the kernel (refused, retried) " + receiver.refusedByKernel() : ""));
            }
        }
        if (kernelWriter != null) {
            l.add("session sync mode direct: written into the kernel " + kernelWriter.injected() + " (created "
                    + kernelWriter.created() + ", updated " + kernelWriter.updated() + ", replaced stale "
                    + kernelWriter.replaced() + "), deleted " + kernelWriter.deleted() + ", refused "
                    + kernelWriter.failed());
        }
        l.add("last commit: " + lastCommit + "; bad frames " + badFrames.get());
        return l;
    }

    /** Numbers for the metrics: cached sessions (passive), entries sent and lag per peer (active). */
    public Map<String, Long> figures() {
        Map<String, Long> m = new LinkedHashMap<>();
        synchronized (receiverLock) {
            m.put("cached", (long) receiver.size());
            m.put("cache_dropped", receiver.dropped());
            m.put("cache_evicted", receiver.evicted());
        }
        m.put("events_read", events.get());
        m.put("overruns", overruns.get());
        if (kernelWriter != null) {
            m.put("kernel_injected", kernelWriter.injected());
            m.put("kernel_deleted", kernelWriter.deleted());
            m.put("kernel_failed", kernelWriter.failed());
        }
        if (active && sender != null) {
            for (SyncSender.PeerStats p : peerStats()) {
                m.put("sent." + p.peer(), p.entriesSent());
                m.put("lag_us." + p.peer(), p.lagNanos() / 1000);
                m.put("queue." + p.peer(), p.queueBatches());
                m.put("resends." + p.peer(), p.resends());
            }
        }
        return m;
    }

    /** cache or direct (cluster.sessions.mode). */
    public String mode() {
        return kernelWriter != null ? "direct" : "cache";
    }

    /** The session sync part of `tandem status --json`: the mode and its figures. */
    public String statusJson() {
        StringBuilder b = new StringBuilder("{\"state\":\"").append(state()).append("\",\"mode\":\"").append(mode())
                .append('"');
        synchronized (receiverLock) {
            b.append(",\"cached\":").append(receiver.size()).append(",\"cache_dropped\":").append(receiver.dropped()).append(",\"cache_evicted\":").append(receiver.evicted())
                    .append(",\"applied\":").append(receiver.applied());
        }
        if (kernelWriter != null) {
            b.append(",\"injected\":").append(kernelWriter.injected()).append(",\"created\":").append(kernelWriter.created())
                    .append(",\"updated\":").append(kernelWriter.updated()).append(",\"replaced\":")
                    .append(kernelWriter.replaced()).append(",\"deleted\":").append(kernelWriter.deleted())
                    .append(",\"failures\":").append(kernelWriter.failed());
            synchronized (receiverLock) {
                b.append(",\"pending\":").append(receiver.pendingKernelWrites()).append(",\"refused_not_in_kernel\":")
                        .append(receiver.refusedByKernel());
            }
        }
        return b.append('}').toString();
    }

    /** SYNCED / BULK_SYNC (passive) or STREAMING (active). */
    public String state() {
        return active ? "STREAMING" : receiverState.name();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Socket sock) {
        if (sock != null) {
            try {
                sock.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    @Override
    public void close() {
        open = false;
        active = false;
        for (ServerSocket ss : servers) {
            try {
                ss.close();
            } catch (IOException ignored) {
                // closing
            }
        }
        conns.values().forEach(c -> closeQuietly(c.socket));
        synchronized (this) {
            closeCommitSocket();
        }
        if (loop != null) {
            loop.interrupt();
        }
        ConntrackEvents r = eventReader;
        if (r != null) {
            r.close();
        }
        if (kernelWriterThread != null) {
            kernelWriterThread.interrupt();
        }
        if (kernelWriter != null) {
            kernelWriter.close();
        }
    }
}
