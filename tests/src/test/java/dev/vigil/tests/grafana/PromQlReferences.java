package dev.vigil.tests.grafana;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a PromQL expression refers to: the series selectors (metric name and label matchers), the
 * labels named in {@code by}/{@code without}/{@code on}/{@code ignoring}/{@code group_*} clauses, the
 * functions and aggregations it calls, and the Grafana variables ({@code $name}) it uses.
 *
 * <p>A scanner, not a full parser: it tells metric names from function names and keywords, reads
 * matcher blocks and grouping lists, and skips range and offset durations. Syntax errors that matter
 * to it (unterminated strings, malformed matchers) are reported; full validity is promtool's job.
 */
record PromQlReferences(List<Selector> selectors, Set<String> groupingLabels, Set<String> functions,
                        Set<String> variables) {

    /** One label matcher: {@code label op "value"}. */
    record LabelMatcher(String label, String op, String value) { }

    /** One series selector; {@code metric} is empty for a selector written as {@code {...}} alone. */
    record Selector(String metric, List<LabelMatcher> matchers) {
        /** The value matched for {@code label} with operator {@code op}, or null. */
        String valueOf(String label, String op) {
            for (LabelMatcher m : matchers) {
                if (m.label().equals(label) && m.op().equals(op)) {
                    return m.value();
                }
            }
            return null;
        }
    }

    private static final Set<String> GROUPING = Set.of("by", "without", "on", "ignoring", "group_left", "group_right");
    /** Aggregations may put their grouping clause before the parenthesis: {@code sum by (x) (...)}. */
    private static final Set<String> AGGREGATIONS = Set.of("sum", "min", "max", "avg", "group", "stddev", "stdvar",
            "count", "count_values", "bottomk", "topk", "quantile");
    private static final Set<String> OPERATORS = Set.of("and", "or", "unless", "bool", "offset", "atan2");
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{?(\\w+)");

    /** Scans {@code expr}; throws {@link IllegalArgumentException} naming the position of a syntax error. */
    static PromQlReferences of(String expr) {
        return new Scanner(expr).scan();
    }

    private static final class Scanner {
        private final String s;
        private int i;
        private final List<Selector> selectors = new ArrayList<>();
        private final Set<String> grouping = new LinkedHashSet<>();
        private final Set<String> functions = new LinkedHashSet<>();

        Scanner(String s) {
            this.s = s;
        }

        PromQlReferences scan() {
            while (skipSpace() < s.length()) {
                char c = s.charAt(i);
                if (c == '"' || c == '\'' || c == '`') {
                    readString();
                } else if (c == '[') {
                    skipPast(']');
                } else if (c == '{') {
                    selectors.add(new Selector("", readMatchers()));
                } else if (isIdentStart(c)) {
                    identifier(readIdentifier());
                } else if (Character.isDigit(c) || c == '.') {
                    while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                        i++;
                    }
                } else {
                    i++;
                }
            }
            Set<String> variables = new LinkedHashSet<>();
            Matcher m = VARIABLE.matcher(s);
            while (m.find()) {
                variables.add(m.group(1));
            }
            return new PromQlReferences(List.copyOf(selectors), Set.copyOf(grouping), Set.copyOf(functions),
                    Set.copyOf(variables));
        }

        private void identifier(String name) {
            int next = skipSpace();
            boolean call = next < s.length() && s.charAt(next) == '(';
            if (GROUPING.contains(name)) {
                if (call) {
                    i++;
                    readLabelList();
                }
            } else if (OPERATORS.contains(name)) {
                return;
            } else if (call || AGGREGATIONS.contains(name)) {
                functions.add(name);
            } else {
                List<LabelMatcher> matchers = next < s.length() && s.charAt(next) == '{' ? readMatchers() : List.of();
                selectors.add(new Selector(name, matchers));
            }
        }

        private void readLabelList() {
            while (true) {
                skipSpace();
                if (i >= s.length()) {
                    throw error("unterminated label list");
                }
                char c = s.charAt(i);
                if (c == ')') {
                    i++;
                    return;
                }
                if (c == ',') {
                    i++;
                } else if (isIdentStart(c)) {
                    grouping.add(readIdentifier());
                } else {
                    throw error("unexpected '" + c + "' in label list");
                }
            }
        }

        private List<LabelMatcher> readMatchers() {
            i++; // '{'
            List<LabelMatcher> out = new ArrayList<>();
            while (true) {
                skipSpace();
                if (i >= s.length()) {
                    throw error("unterminated matcher block");
                }
                char c = s.charAt(i);
                if (c == '}') {
                    i++;
                    return List.copyOf(out);
                }
                if (c == ',') {
                    i++;
                    continue;
                }
                if (!isIdentStart(c)) {
                    throw error("expected a label name, found '" + c + "'");
                }
                String label = readIdentifier();
                skipSpace();
                String op = readOperator();
                skipSpace();
                if (i >= s.length() || "\"'`".indexOf(s.charAt(i)) < 0) {
                    throw error("expected a quoted value for label " + label);
                }
                out.add(new LabelMatcher(label, op, readString()));
            }
        }

        private String readOperator() {
            for (String op : List.of("=~", "!=", "!~", "=")) {
                if (s.startsWith(op, i)) {
                    i += op.length();
                    return op;
                }
            }
            throw error("expected a matcher operator");
        }

        private String readString() {
            char quote = s.charAt(i);
            int start = ++i;
            StringBuilder out = new StringBuilder();
            while (i < s.length() && s.charAt(i) != quote) {
                if (s.charAt(i) == '\\' && quote != '`' && i + 1 < s.length()) {
                    i++;
                }
                out.append(s.charAt(i++));
            }
            if (i >= s.length()) {
                throw new IllegalArgumentException("unterminated string starting at " + (start - 1) + " in: " + s);
            }
            i++;
            return out.toString();
        }

        private String readIdentifier() {
            int start = i;
            while (i < s.length() && (isIdentStart(s.charAt(i)) || Character.isDigit(s.charAt(i)))) {
                i++;
            }
            return s.substring(start, i);
        }

        private void skipPast(char close) {
            int end = s.indexOf(close, i);
            if (end < 0) {
                throw error("missing '" + close + "'");
            }
            i = end + 1;
        }

        private int skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            return i;
        }

        private static boolean isIdentStart(char c) {
            return Character.isLetter(c) || c == '_' || c == ':';
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at " + i + " in: " + s);
        }
    }
}
