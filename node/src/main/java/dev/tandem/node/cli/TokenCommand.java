package dev.tandem.node.cli;

import dev.tandem.node.api.Role;
import dev.tandem.node.api.TokenStore;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "token", description = "API tokens for the REST API and dashboard (roles viewer and admin).",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
final class TokenCommand implements Runnable {
    static final String DEFAULT_FILE = "/var/lib/tandem/tokens"; // the daemon default: <operator.state_dir>/tokens

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    @Command(name = "create", description = "Create a token named NAME and print it (once: only its hash is kept).")
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "NAME", description = "who the token is for; actions are logged under this name")
        String name;

        @Option(names = "--role", required = true, description = "viewer (read) or admin (read and actions)")
        String role;

        @Option(names = "--file", defaultValue = DEFAULT_FILE, description = "token file (default: ${DEFAULT-VALUE})")
        Path file;

        @Override
        public Integer call() throws Exception {
            Role r;
            try {
                r = Role.parse(role);
                TokenStore.checkName(name);
            } catch (IllegalArgumentException e) {
                System.err.println("error: " + e.getMessage());
                return 2;
            }
            String token;
            try {
                token = TokenStore.open(file).create(name, r);
            } catch (IllegalArgumentException e) {
                System.err.println("error: " + e.getMessage());
                return 1;
            }
            System.out.println(token);
            System.err.println("token '" + name + "' (" + r.word() + ") added to " + file
                    + "; it is shown only now. Use it as 'Authorization: Bearer <token>' or in the dashboard's login.");
            return 0;
        }
    }

    @Command(name = "list", description = "List the tokens (names, roles, creation times; never the tokens).")
    static final class ListTokens implements Callable<Integer> {
        @Option(names = "--file", defaultValue = DEFAULT_FILE, description = "token file (default: ${DEFAULT-VALUE})")
        Path file;

        @Option(names = "--json", description = "JSON output")
        boolean json;

        @Override
        public Integer call() throws Exception {
            List<TokenStore.Entry> list = TokenStore.open(file).list();
            if (json) {
                StringBuilder b = new StringBuilder("[");
                for (int i = 0; i < list.size(); i++) {
                    TokenStore.Entry e = list.get(i);
                    b.append(i == 0 ? "" : ",").append("{\"name\":").append(dev.tandem.node.api.Json.q(e.name()))
                            .append(",\"role\":\"").append(e.role().word()).append("\",\"created\":\"")
                            .append(e.created()).append("\"}");
                }
                System.out.println(b.append(']'));
                return 0;
            }
            if (list.isEmpty()) {
                System.out.println("no tokens in " + file);
                return 0;
            }
            System.out.printf("%-32s %-7s %s%n", "name", "role", "created");
            for (TokenStore.Entry e : list) {
                System.out.printf("%-32s %-7s %s%n", e.name(), e.role().word(), e.created());
            }
            return 0;
        }
    }

    @Command(name = "revoke", description = "Revoke the token named NAME (a running daemon notices at its next request).")
    static final class Revoke implements Callable<Integer> {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--file", defaultValue = DEFAULT_FILE, description = "token file (default: ${DEFAULT-VALUE})")
        Path file;

        @Override
        public Integer call() throws Exception {
            if (TokenStore.open(file).revoke(name)) {
                System.out.println("token '" + name + "' revoked");
                return 0;
            }
            System.err.println("error: no token named '" + name + "' in " + file);
            return 1;
        }
    }
}
