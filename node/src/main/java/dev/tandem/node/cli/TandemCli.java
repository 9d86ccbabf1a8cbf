package dev.tandem.node.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `tandem` command. */
@Command(name = "tandem", mixinStandardHelpOptions = true, version = "tandem " + TandemCli.VERSION,
        description = "High availability for Linux firewalls: VRRPv3 failover, session and configuration sync.",
        subcommands = {RunCommand.class, StatusCommand.class, EventsCommand.class, NodeCommands.Suspend.class,
                NodeCommands.Resume.class, NodeCommands.Demote.class, NodeCommands.Sync.class, ConfigCommand.class, SimCommand.class, PkiCommand.class, LabCommand.class,
                BenchCommand.class, TokenCommand.class})
public final class TandemCli implements Runnable {
    public static final String VERSION = "0.1.0";

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** The command line as {@link #main} runs it (exit codes: 0 ok, 1 failed or refused, 2 usage). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new TandemCli()).setCaseInsensitiveEnumValuesAllowed(true);
        // Operational failures (a command that failed, a lab that cannot be built) get one clear line.
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + e.getMessage());
            return 1;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
