package dev.tandem.lab;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Starts a Java main of this code base inside a namespace, with the running JVM and classpath. */
final class JavaProcess {
    private JavaProcess() {}

    static List<String> command(String ns, String mainClass, List<String> jvmOptions, List<String> args) {
        List<String> cmd = new ArrayList<>(ns == null ? List.of() : List.of("ip", "netns", "exec", ns));
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    static Process start(List<String> cmd, Path log) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            if (log != null) {
                pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            }
            return pb.start();
        } catch (IOException e) {
            throw new LabException("cannot start " + cmd + ": " + e.getMessage());
        }
    }
}
