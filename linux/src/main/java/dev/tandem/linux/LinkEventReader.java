package dev.tandem.linux;

import java.lang.foreign.Arena;
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

    public LinkEventReader(Consumer<LinkEvent> consumer) {
        this.consumer = consumer;
        this.socket = new NetlinkSocket(RTMGRP_LINK, 4 << 20);
        this.poll = new WakeablePoll(arena);
    }

    public void start() {
        thread = Thread.ofPlatform().name("link-events").daemon(true).start(this::run);
    }

    private void run() {
        while (!closed) {
            if (!poll.awaitReadable(socket.fd)) {
                return;
            }
            int n = socket.receive(Libc.MSG_DONTWAIT);
            if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                continue;
            }
            if (n == -Errno.ENOBUFS) {
                redump();
                continue;
            }
            if (n < 0) {
                return; // socket gone: closing
            }
            try {
                for (NetlinkMessages.Message m : NetlinkMessages.split(socket.data(), n)) {
                    if (m.type() == NetlinkMessages.RTM_NEWLINK || m.type() == NetlinkMessages.RTM_DELLINK) {
                        Rtnetlink.Link l = NetlinkMessages.link(m);
                        consumer.accept(new LinkEvent(l.index(), l.name(), l.up()));
                    }
                }
            } catch (NetlinkMessages.MalformedMessageException e) {
                // a malformed event is skipped; the next one carries the full link state again
            }
        }
    }

    private void redump() {
        try (Rtnetlink r = Rtnetlink.open()) {
            for (Rtnetlink.Link l : r.links()) {
                consumer.accept(new LinkEvent(l.index(), l.name(), l.up()));
            }
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
