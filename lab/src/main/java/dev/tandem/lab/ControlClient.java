package dev.tandem.lab;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One request on a lab daemon's control socket (run dir / FW.sock), as `tandem status` sends it. */
public final class ControlClient {
    private ControlClient() {}

    public static String request(LabTopology lab, String fw, String line) {
        Path sock = lab.runDir().resolve(fw + ".sock");
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            c.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            StringBuilder sb = new StringBuilder();
            while (c.read(buf) > 0) {
                buf.flip();
                sb.append(StandardCharsets.UTF_8.decode(buf));
                buf.clear();
            }
            return sb.toString();
        } catch (IOException e) {
            return "unreachable: " + e.getMessage();
        }
    }

    public static String statusJson(LabTopology lab, String fw) {
        return request(lab, fw, "status-json");
    }

    /** The first number after the pattern's text (a group (\\d+)) in s, or -1. */
    public static long number(String s, String regex) {
        Matcher m = Pattern.compile(regex).matcher(s);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
}
