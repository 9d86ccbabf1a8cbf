package dev.tandem.node.configsync;

import java.util.List;

/** A line diff for display (LCS; "-" old, "+" new, unchanged lines omitted). */
final class LineDiff {
    private LineDiff() {}

    static String unified(String a, String b) {
        List<String> x = a.lines().toList();
        List<String> y = b.lines().toList();
        int p = 0;
        while (p < x.size() && p < y.size() && x.get(p).equals(y.get(p))) {
            p++;
        }
        int s = 0;
        while (s < x.size() - p && s < y.size() - p && x.get(x.size() - 1 - s).equals(y.get(y.size() - 1 - s))) {
            s++;
        }
        List<String> xm = x.subList(p, x.size() - s);
        List<String> ym = y.subList(p, y.size() - s);
        StringBuilder out = new StringBuilder();
        if ((long) xm.size() * ym.size() > 4_000_000L) { // too large for LCS: old block then new block
            xm.forEach(l -> out.append("-").append(l).append('\n'));
            ym.forEach(l -> out.append("+").append(l).append('\n'));
            return out.toString();
        }
        int[][] l = new int[xm.size() + 1][ym.size() + 1];
        for (int i = xm.size() - 1; i >= 0; i--) {
            for (int j = ym.size() - 1; j >= 0; j--) {
                l[i][j] = xm.get(i).equals(ym.get(j)) ? l[i + 1][j + 1] + 1 : Math.max(l[i + 1][j], l[i][j + 1]);
            }
        }
        int i = 0;
        int j = 0;
        while (i < xm.size() || j < ym.size()) {
            if (i < xm.size() && j < ym.size() && xm.get(i).equals(ym.get(j))) {
                i++;
                j++;
            } else if (j < ym.size() && (i == xm.size() || l[i][j + 1] >= l[i + 1][j])) {
                out.append("+").append(ym.get(j++)).append('\n');
            } else {
                out.append("-").append(xm.get(i++)).append('\n');
            }
        }
        return out.toString();
    }
}
