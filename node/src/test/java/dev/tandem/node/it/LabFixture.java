package dev.tandem.node.it;

import dev.tandem.lab.LabTopology;
import dev.tandem.node.daemon.ControlServer;
import java.util.Random;

/** What the lab integration tests share: a lab of their own, and requests to its daemons. */
final class LabFixture {
    private static final Random NAMES = new Random();

    private LabFixture() {}

    /** A lab with a random "tit…" prefix, so parallel or leftover labs never collide. */
    static LabTopology uniqueLab() {
        return new LabTopology("tit" + Integer.toHexString(0x1000 + NAMES.nextInt(0xefff)) + "-");
    }

    /** One line on a daemon's control socket; "unreachable: …" when it does not answer. */
    static String request(LabTopology lab, String fw, String line) {
        try {
            return ControlServer.request(lab.runDir().resolve(fw + ".sock"), line);
        } catch (Exception e) {
            return "unreachable: " + e;
        }
    }

    static String status(LabTopology lab, String fw) {
        return request(lab, fw, "status-json");
    }
}
