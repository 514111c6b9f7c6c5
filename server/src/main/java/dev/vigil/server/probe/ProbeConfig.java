package dev.vigil.server.probe;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.probes.stats.ProbeSettings;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** Reads the {@code probe} block of a model's config.json (SPEC §1) into {@link ProbeSettings}. */
public final class ProbeConfig {
    private static final Set<String> KEYS = Set.of("enabled", "sample_rate", "window_tokens",
            "attention_mask_input", "include", "exclude", "massive", "sink", "dormant_tau", "outlier_threshold",
            "shadow", "strategy");

    private ProbeConfig() {
    }

    /**
     * The settings of a {@code probe} block; a missing node gives the defaults.
     *
     * @throws IllegalArgumentException naming the key when a value is of the wrong type or out of range
     */
    public static ProbeSettings parse(JsonNode probe) {
        ProbeSettings d = ProbeSettings.defaults();
        if (probe == null || probe.isMissingNode() || probe.isNull()) {
            return d;
        }
        if (!probe.isObject()) {
            throw new IllegalArgumentException("config.json 'probe' must be an object");
        }
        checkKeys(probe, "probe", KEYS);
        JsonNode massive = object(probe, "massive", Set.of("abs_threshold", "median_ratio"));
        JsonNode sink = object(probe, "sink", Set.of("epsilon"));
        return new ProbeSettings(
                bool(probe, "enabled", d.enabled()),
                number(probe, "sample_rate", "probe.sample_rate", d.sampleRate()),
                integer(probe, "window_tokens", d.windowTokens()),
                string(probe, "attention_mask_input", d.attentionMaskInput()),
                strings(probe, "include"),
                strings(probe, "exclude"),
                number(massive, "abs_threshold", "probe.massive.abs_threshold", d.massiveAbsThreshold()),
                number(massive, "median_ratio", "probe.massive.median_ratio", d.massiveMedianRatio()),
                number(sink, "epsilon", "probe.sink.epsilon", d.sinkEpsilon()),
                number(probe, "dormant_tau", "probe.dormant_tau", d.dormantTau()),
                number(probe, "outlier_threshold", "probe.outlier_threshold", d.outlierThreshold()));
    }

    /**
     * The {@code probe.strategy} of a {@code probe} block; {@link ProbeStrategy#AUTO} when absent.
     *
     * @throws IllegalArgumentException when it is not one of {@code auto}, {@code host}, {@code graph}
     */
    public static ProbeStrategy strategy(JsonNode probe) {
        JsonNode n = probe == null ? null : probe.path("strategy");
        if (n == null || n.isMissingNode()) {
            return ProbeStrategy.AUTO;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException("config.json 'probe.strategy' must be a string (auto, host or graph), not "
                    + n);
        }
        return ProbeStrategy.parse(n.textValue());
    }

    private static void checkKeys(JsonNode node, String where, Set<String> known) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!known.contains(key)) {
                throw new IllegalArgumentException("config.json '" + where + "' has unknown key '" + key
                        + "' (known: " + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private static JsonNode object(JsonNode probe, String key, Set<String> known) {
        JsonNode n = probe.path(key);
        if (n.isMissingNode()) {
            return n;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("config.json 'probe." + key + "' must be an object, not " + n);
        }
        checkKeys(n, "probe." + key, known);
        return n;
    }

    private static boolean bool(JsonNode node, String key, boolean dflt) {
        JsonNode n = node.path(key);
        if (n.isMissingNode()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException("config.json 'probe." + key + "' must be true or false, not " + n);
        }
        return n.booleanValue();
    }

    private static double number(JsonNode node, String key, String name, double dflt) {
        JsonNode n = node.path(key);
        if (n.isMissingNode()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException("config.json '" + name + "' must be a number, not " + n);
        }
        return n.doubleValue();
    }

    private static long integer(JsonNode node, String key, long dflt) {
        JsonNode n = node.path(key);
        if (n.isMissingNode()) {
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new IllegalArgumentException("config.json 'probe." + key + "' must be an integer, not " + n);
        }
        return n.longValue();
    }

    private static String string(JsonNode node, String key, String dflt) {
        JsonNode n = node.path(key);
        if (n.isMissingNode()) {
            return dflt;
        }
        if (!n.isTextual() || n.textValue().isEmpty()) {
            throw new IllegalArgumentException("config.json 'probe." + key + "' must be a non-empty string, not "
                    + n);
        }
        return n.textValue();
    }

    private static List<String> strings(JsonNode node, String key) {
        JsonNode n = node.path(key);
        List<String> out = new ArrayList<>();
        if (n.isMissingNode()) {
            return out;
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("config.json 'probe." + key + "' must be an array of strings, not "
                    + n);
        }
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new IllegalArgumentException("config.json 'probe." + key + "' must hold strings, not " + e);
            }
            out.add(e.textValue());
        }
        return out;
    }
}
