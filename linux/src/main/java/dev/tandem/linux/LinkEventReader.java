package dev.tandem.linux;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.Consumer;

/**
 * Kernel link events (RTMGRP_LINK) on a platform thread of its own, handed to a consumer. A
 * netlink overrun (ENOBUFS) is reported as a re-dump of every link, so no change is lost.
 */
public final class LinkEventReader implements AutoCloseable {
    private static final int RTMGRP_LINK = 1;

    /** up = administratively up with carrier. */
    public record LinkEvent(int index, String name, boolean up) {}

    private final Consumer<LinkEvent> consumer;
    private final NetlinkSocket socket;
    private final Arena arena = Arena.ofShared();
    private final WakeablePoll poll;
    private Thread thread;
    private volatile boolean closed;
    private volatile long overruns;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);
    private int dumpSeq; // 0: no re-dump in flight
    private boolean dumpAgain; // an overrun during the re-dump in flight

    /** Call on a thread in the namespace to watch: the socket (and every re-dump over it) stays there. */
    public LinkEventReader(Consumer<LinkEvent> consumer) {
        this(consumer, 4 << 20);
    }

    LinkEventReader(Consumer<LinkEvent> consumer, int rcvbuf) {
        this.consumer = consumer;
        this.socket = new NetlinkSocket(RTMGRP_LINK, rcvbuf);
        this.poll = new WakeablePoll(arena);
    }

    public void start() {
        thread = Thread.ofPlatform().name("link-events").daemon(true).start(this::run);
    }

    /** Overruns (ENOBUFS) seen so far; each one triggered a re-dump. */
    long overruns() {
        return overruns;
    }

    private void run() {
        RealtimeScheduling.enterIfConfigured();
        try {
            read();
        } catch (RuntimeException e) {
            if (!closed) {
                System.err.println("link-events: reader stopped, link changes are no longer seen: " + e);
            }
        }
    }

    private void read() {
        while (!closed) {
            if (!poll.awaitReadable(socket.fd)) {
                return;
            }
            int n = socket.receive(Libc.MSG_DONTWAIT);
            if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                continue;
            }
            if (n == -Errno.ENOBUFS) {
                overruns++;
                redump();
                continue;
            }
            if (n < 0) {
                return; // socket gone: closing
            }
            List<NetlinkMessages.Message> messages;
            try {
                messages = NetlinkMessages.split(socket.data(), n);
            } catch (NetlinkMessages.MalformedMessageException e) {
                continue; // a malformed datagram is skipped; the next event carries the full link state again
            }
            for (NetlinkMessages.Message m : messages) {
                handle(m);
            }
        }
    }

    private void handle(NetlinkMessages.Message m) {
        if (dumpSeq != 0 && m.seq() == dumpSeq
                && (m.type() == NetlinkMessages.NLMSG_DONE || m.type() == NetlinkMessages.NLMSG_ERROR)) {
            if (m.type() == NetlinkMessages.NLMSG_ERROR) {
                System.err.println("link-events: link re-dump failed: " + errnoOf(m));
            }
            dumpSeq = 0;
            if (dumpAgain) {
                redump();
            }
            return;
        }
        if (m.type() != NetlinkMessages.RTM_NEWLINK && m.type() != NetlinkMessages.RTM_DELLINK) {
            return;
        }
        LinkEvent event;
        try {
            Rtnetlink.Link l = NetlinkMessages.link(m);
            event = new LinkEvent(l.index(), l.name(), l.up());
        } catch (NetlinkMessages.MalformedMessageException e) {
            return; // skipped; the next event carries the full link state again
        }
        try {
            consumer.accept(event);
        } catch (RuntimeException e) {
            // one failed delivery must not end the reader: no later link change would be seen
            System.err.println("link-events: consumer failed on " + event + ", reading on: " + e);
        }
    }

    /**
     * Dumps every link over the event socket itself: a new socket would be opened in this thread's
     * namespace, which need not be the one the reader was constructed in. Replies arrive among the
     * events and are delivered like them.
     */
    private void redump() {
        if (dumpSeq != 0) {
            dumpAgain = true; // a lost event may postdate what the dump in flight reported: another one after it
            return;
        }
        dumpAgain = false;
        int s = ++seq == 0 ? ++seq : seq;
        try {
            socket.send(NetlinkMessages.request(NetlinkMessages.RTM_GETLINK,
                    NetlinkMessages.NLM_F_REQUEST | NetlinkMessages.NLM_F_DUMP, s, new byte[16], List.of()));
            dumpSeq = s;
        } catch (NativeException e) {
            System.err.println("link-events: link re-dump request failed, changes may be missed until the next overrun: "
                    + e.getMessage());
        }
    }

    private static String errnoOf(NetlinkMessages.Message m) {
        try {
            return Errno.name(-NetlinkMessages.error(m));
        } catch (NetlinkMessages.MalformedMessageException e) {
            return "malformed error message";
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        poll.wake();
        if (thread != null) {
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        socket.close();
        poll.close();
        arena.close();
    }
}
