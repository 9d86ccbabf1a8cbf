package dev.tandem.node.configsync;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The cluster file split in two: the shared part (everything but the top-level {@code nodes:} block,
 * comments kept) that config sync carries as the {@code tandem} item, and the node-local
 * {@code nodes:} block that never leaves the node. The split is textual so a peer's file keeps the
 * primary's comments and layout; it is checked against the parsed YAML, so a file the split
 * cannot represent (flow style at the top, document markers, an anchor crossing the two parts) is
 * refused with a reason rather than synced wrong.
 */
public final class ClusterFileParts {
    public static final String NODES = "nodes";

    /** The shared text and the {@code nodes:} block (including its comments), both ending with a newline. */
    public record Parts(String shared, String nodes) {}

    /** The file cannot be split; the message says why. */
    public static final class Unsplittable extends Exception {
        Unsplittable(String m) {
            super(m);
        }
    }

    private ClusterFileParts() {}

    public static Parts split(String text) throws Unsplittable {
        List<String> lines = text.lines().toList();
        if (lines.size() > 100_000) {
            throw new Unsplittable("more than 100000 lines");
        }
        StringBuilder shared = new StringBuilder();
        StringBuilder nodes = new StringBuilder();
        boolean inNodes = false;
        int nodesBlocks = 0;
        for (String line : lines) {
            if (line.startsWith("---") || line.startsWith("...") || line.startsWith("%")) {
                throw new Unsplittable("YAML document markers or directives at the top level ('"
                        + abbreviate(line) + "') are not supported in a synced cluster file");
            }
            boolean topKey = !line.isEmpty() && !Character.isWhitespace(line.charAt(0)) && line.charAt(0) != '#';
            if (topKey && (line.charAt(0) == '{' || line.charAt(0) == '[')) {
                throw new Unsplittable("a top-level flow mapping or list is not supported in a synced cluster file:"
                        + " write it in block style (one top-level key per line)");
            }
            if (topKey) {
                inNodes = line.startsWith(NODES + ":") || line.startsWith("'" + NODES + "':")
                        || line.startsWith("\"" + NODES + "\":");
                if (inNodes) {
                    nodesBlocks++;
                }
            }
            (inNodes ? nodes : shared).append(line).append('\n');
        }
        if (nodesBlocks != 1) {
            throw new Unsplittable(nodesBlocks == 0 ? "no top-level 'nodes:' block" : "more than one 'nodes:' block");
        }
        Map<String, Object> whole = parse(text, "the cluster file");
        Map<String, Object> sharedTree = parse(shared.toString(), "the shared part");
        Map<String, Object> nodesTree = parse(nodes.toString(), "the nodes: block");
        Map<String, Object> expected = new LinkedHashMap<>(whole);
        Object n = expected.remove(NODES);
        if (!expected.equals(sharedTree) || nodesTree.size() != 1 || !Objects.equals(nodesTree.get(NODES), n)) {
            throw new Unsplittable("the shared part and the nodes: block do not read back as the file (top-level flow"
                    + " style, or an anchor used across them?)");
        }
        return new Parts(shared.toString(), nodes.toString());
    }

    /** A node's file: the primary's shared text followed by this node's own {@code nodes:} block. */
    public static String merge(String shared, String nodesBlock) {
        String s = shared.endsWith("\n") || shared.isEmpty() ? shared : shared + "\n";
        return s + nodesBlock;
    }

    /**
     * The sections that differ between two shared texts: top-level keys, and {@code cluster.X} for
     * each changed key under {@code cluster}. Texts that do not parse compare as {@code [whole file]}.
     */
    public static Set<String> changedSections(String a, String b) {
        Map<String, Object> x;
        Map<String, Object> y;
        try {
            x = a.isBlank() ? Map.of() : parse(a, "a");
            y = b.isBlank() ? Map.of() : parse(b, "b");
        } catch (Unsplittable e) {
            return Set.of("whole file");
        }
        Set<String> out = new LinkedHashSet<>();
        Set<String> keys = new LinkedHashSet<>(x.keySet());
        keys.addAll(y.keySet());
        for (String k : keys) {
            Object u = x.get(k);
            Object v = y.get(k);
            if (Objects.equals(u, v)) {
                continue;
            }
            if (k.equals("cluster") && u instanceof Map<?, ?> mu && v instanceof Map<?, ?> mv) {
                List<Object> sub = new ArrayList<>(mu.keySet());
                mv.keySet().forEach(s -> {
                    if (!sub.contains(s)) {
                        sub.add(s);
                    }
                });
                for (Object s : sub) {
                    if (!Objects.equals(mu.get(s), mv.get(s))) {
                        out.add("cluster." + s);
                    }
                }
            } else {
                out.add(k);
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parse(String text, String what) throws Unsplittable {
        LoaderOptions opts = new LoaderOptions();
        opts.setMaxAliasesForCollections(10);
        opts.setCodePointLimit(2 * 1024 * 1024);
        opts.setAllowDuplicateKeys(false);
        opts.setNestingDepthLimit(20);
        Object root;
        try {
            root = new Yaml(new SafeConstructor(opts)).load(text);
        } catch (YAMLException | IllegalArgumentException | StackOverflowError e) {
            throw new Unsplittable(what + " is not valid YAML on its own: " + abbreviate(String.valueOf(e.getMessage())));
        }
        if (root == null) {
            return Map.of();
        }
        if (!(root instanceof Map<?, ?> m)) {
            throw new Unsplittable(what + " is not a mapping");
        }
        return (Map<String, Object>) m;
    }

    private static String abbreviate(String s) {
        String one = s.replace('\n', ' ');
        return one.length() > 200 ? one.substring(0, 200) + "..." : one;
    }
}
