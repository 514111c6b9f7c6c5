package dev.vigil.exporter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One sample of a Prometheus text exposition: metric name, labels, value.
 *
 * @param name   metric name as exposed (counters with their {@code _total} suffix)
 * @param labels label name to (unescaped) value, in exposition order
 * @param value  sample value ({@code NaN}, {@code +Inf} and {@code -Inf} included)
 */
public record PrometheusSample(String name, Map<String, String> labels, double value) {

    public PrometheusSample {
        labels = Map.copyOf(labels);
    }

    /** Label value, or null when the sample has no such label. */
    public String label(String key) {
        return labels.get(key);
    }

    /**
     * Parses the text format (version 0.0.4): one sample per line, {@code #} lines skipped, an optional
     * timestamp after the value ignored.
     *
     * @throws IllegalArgumentException on a malformed sample line, naming it
     */
    public static List<PrometheusSample> parse(String exposition) {
        List<PrometheusSample> samples = new ArrayList<>();
        for (String line : exposition.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            samples.add(parseLine(l));
        }
        return samples;
    }

    private static PrometheusSample parseLine(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = line.substring(0, i);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                if (eq < 0 || eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("malformed labels in metrics line: " + line);
                }
                String key = line.substring(i, eq).strip();
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; j < line.length() && line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\' && j + 1 < line.length()) {
                        char n = line.charAt(++j);
                        value.append(n == 'n' ? '\n' : n);
                    } else {
                        value.append(c);
                    }
                }
                if (j >= line.length()) {
                    throw new IllegalArgumentException("unterminated label value in metrics line: " + line);
                }
                labels.put(key, value.toString());
                i = j + 1;
                if (i < line.length() && line.charAt(i) == ',') {
                    i++;
                }
                if (i >= line.length()) {
                    throw new IllegalArgumentException("unterminated labels in metrics line: " + line);
                }
            }
            i++;
        }
        String[] rest = line.substring(i).strip().split("\\s+");
        if (name.isEmpty() || rest.length < 1 || rest[0].isEmpty()) {
            throw new IllegalArgumentException("malformed metrics line: " + line);
        }
        return new PrometheusSample(name, labels, value(rest[0], line));
    }

    private static double value(String text, String line) {
        switch (text) {
            case "+Inf":
                return Double.POSITIVE_INFINITY;
            case "-Inf":
                return Double.NEGATIVE_INFINITY;
            case "NaN":
                return Double.NaN;
            default:
                try {
                    return Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("malformed value '" + text + "' in metrics line: " + line, e);
                }
        }
    }
}
