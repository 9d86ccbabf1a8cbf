package dev.tandem.node.cli;

import dev.tandem.node.api.Json;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "events", description = {"The event log of a node (newest first) from its operator API.",
        "Needs a token (--token, $TANDEM_TOKEN or --token-file)."})
final class EventsCommand implements Callable<Integer> {
    /** --all stops after this many pages. */
    static final int MAX_PAGES = 100;
    private static final Pattern AGO = Pattern.compile("([0-9]{1,9})(s|m|h|d|w)");
    private static final DateTimeFormatter LOCAL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    @Mixin
    ApiOptions api;

    @Option(names = "--node", description = "the node whose log is read (default: this host's name)")
    String node;

    @Option(names = "--kind", description = "only this kind (TRANSITION, ALARM, COMMAND, WARNING, INFO, ...)")
    String kind;

    @Option(names = "--since", paramLabel = "TIME", description = "from this time on: a duration back from now "
            + "(30s, 10m, 2h, 7d, 1w) or ISO-8601 (2025-01-31T12:00:00Z, 2025-01-31T13:00:00+01:00, or local "
            + "2025-01-31T13:00)")
    String since;

    @Option(names = "--until", paramLabel = "TIME", description = "before this time (same forms as --since)")
    String until;

    @Option(names = "--limit", defaultValue = "100", description = "events per page, 1 to 1000 (default: ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--all", description = "follow the pages to the oldest match (at most " + MAX_PAGES + " pages)")
    boolean all;

    @Option(names = "--json", description = "JSON for scripts: {\"events\":[...],\"next_cursor\":...} as the API "
            + "answers (with --all, every page's events in one list)")
    boolean json;

    @Spec
    CommandSpec spec;

    /** Clock for durations (tests replace it). */
    static java.time.Clock clock = java.time.Clock.systemUTC();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            return run(out, err);
        } catch (ApiOptions.UsageException e) {
            err.println("error: " + e.getMessage());
            return 2;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private int run(PrintWriter out, PrintWriter err) throws ApiOptions.UsageException {
        if (limit < 1 || limit > 1000) {
            throw new ApiOptions.UsageException("--limit must be 1 to 1000, got " + limit);
        }
        StringBuilder q = new StringBuilder("/api/v1/events?limit=").append(limit);
        if (since != null) {
            q.append("&since=").append(time("--since", since, clock.instant()));
        }
        if (until != null) {
            q.append("&until=").append(time("--until", until, clock.instant()));
        }
        if (kind != null) {
            q.append("&kind=").append(URLEncoder.encode(kind, StandardCharsets.UTF_8));
        }
        String token = api.token();
        if (token == null) {
            throw new ApiOptions.UsageException("events come from the API: give --token, $" + ApiOptions.TOKEN_ENV
                    + " or --token-file");
        }
        String n = api.nodeOrHost(node);
        ApiOptions.Target t = api.target(n);
        if (t.url() == null) {
            err.println("error: node " + n + " has no management address in " + api.config + " (nodes." + n
                    + ".management), so no API; give --api URL");
            return 1;
        }
        List<Object> events = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        try (ApiClient c = api.client(t, token, err)) {
            do {
                String body = c.get(q + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8)));
                pages++;
                if (json && !all) {
                    out.println(body.strip()); // one page: the API's answer untouched
                    return 0;
                }
                Map<?, ?> page;
                try {
                    page = Json.parse(body) instanceof Map<?, ?> m && m.get("events") instanceof List<?> ? m : null;
                } catch (IllegalArgumentException e) {
                    page = null;
                }
                if (page == null) {
                    err.println("error: " + t.url() + " answered something other than a page of events");
                    return 1;
                }
                events.addAll((List<?>) page.get("events"));
                cursor = page.get("next_cursor") instanceof String s ? s : null;
            } while (all && cursor != null && pages < MAX_PAGES);
        } catch (ApiClient.ApiException e) {
            err.println("error: " + e.getMessage());
            return 1;
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("events", events);
            m.put("next_cursor", cursor);
            out.println(Text.json(m));
        } else {
            table(events, out);
        }
        if (cursor != null) {
            err.println(all ? "stopped after " + MAX_PAGES + " pages (" + events.size() + " events); narrow with --since/--until"
                    : "more events are older: --all to page through them, or narrow with --since/--until");
        }
        return 0;
    }

    private static void table(List<Object> events, PrintWriter out) {
        if (events.isEmpty()) {
            out.println("no events");
            return;
        }
        List<String[]> rows = new ArrayList<>();
        int wNode = 4;
        int wKind = 4;
        for (Object o : events) {
            if (!(o instanceof Map<?, ?> e)) {
                continue;
            }
            String time = e.get("time_ms") instanceof Long ms ? LOCAL.format(Instant.ofEpochMilli(ms).atZone(ZoneId.systemDefault()))
                    : Text.str(e, "time", "?");
            String[] r = {time, Text.str(e, "node", ""), Text.str(e, "kind", ""), Text.str(e, "text", ""),
                    Text.str(e, "actor", "-")};
            wNode = Math.max(wNode, r[1].length());
            wKind = Math.max(wKind, r[2].length());
            rows.add(r);
        }
        String fmt = "%-19s  %-" + wNode + "s  %-" + wKind + "s  %s  (%s)%n";
        out.printf("%-19s  %-" + wNode + "s  %-" + wKind + "s  %s  (%s)%n", "time (" + ZoneId.systemDefault().getId() + ")",
                "node", "kind", "text", "actor");
        for (String[] r : rows) {
            out.printf(fmt, (Object[]) r);
        }
    }

    /**
     * A --since/--until value as epoch milliseconds: a duration back from {@code now} (30s, 10m, 2h, 7d, 1w), an
     * ISO-8601 instant or offset date-time, a local date-time (this host's zone), or epoch milliseconds.
     */
    static long time(String option, String v, Instant now) throws ApiOptions.UsageException {
        String s = v.strip();
        Matcher m = AGO.matcher(s);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofDays(7 * n);
            };
            return now.minus(d).toEpochMilli();
        }
        if (s.matches("[0-9]{10,15}")) {
            return Long.parseLong(s);
        }
        try {
            return OffsetDateTime.parse(s).toInstant().toEpochMilli(); // also ...Z
        } catch (DateTimeParseException ignored) {
            // try the next form
        }
        try {
            return LocalDateTime.parse(s).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
        } catch (DateTimeParseException ignored) {
            // refused below
        }
        throw new ApiOptions.UsageException(option + ": expected a duration back from now (30s, 10m, 2h, 7d, 1w) or an "
                + "ISO-8601 time (2025-01-31T12:00:00Z, or local 2025-01-31T13:00), got '" + Text.clean(v) + "'");
    }
}
