package dev.vigil.server.shadow;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.quant.Calibration;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code probe.shadow} block of a model's config.json: whether a static int8 copy of the model runs beside it on
 * a sample of the probed requests, and how that copy is made.
 *
 * @param enabled        whether the model is shadowed
 * @param sampleRate     fraction of probed requests shadowed, in [0, 1]
 * @param calibration    the clip value of each quantized tensor, as for {@code /quantized?calibration=}
 * @param keepFp32       {@code matmul_input} tensors left float, as for {@code /quantized?keep_fp32=}
 * @param classOutputs   outputs whose argmax agreement is measured (names the model lacks are ignored)
 * @param rebuildSeconds the least time between two builds of the shadow model from a newer closed window
 */
public record ShadowSettings(boolean enabled, double sampleRate, Calibration calibration, List<String> keepFp32,
                             List<String> classOutputs, long rebuildSeconds) {
    private static final Set<String> KEYS = Set.of("enabled", "sample_rate", "calibration", "keep_fp32",
            "class_outputs", "rebuild_seconds");

    public ShadowSettings {
        if (!(sampleRate >= 0.0 && sampleRate <= 1.0)) {
            throw new IllegalArgumentException("probe.shadow.sample_rate must be in [0, 1], got " + sampleRate);
        }
        if (rebuildSeconds < 0) {
            throw new IllegalArgumentException("probe.shadow.rebuild_seconds must be >= 0, got " + rebuildSeconds);
        }
        keepFp32 = List.copyOf(keepFp32);
        classOutputs = List.copyOf(classOutputs);
    }

    /** The defaults: disabled, 5% of probed requests, percentile calibration, nothing kept float, "logits", 300 s. */
    public static ShadowSettings defaults() {
        return new ShadowSettings(false, 0.05, Calibration.PERCENTILE, List.of(), List.of("logits"), 300);
    }

    /**
     * The settings of a {@code probe.shadow} block; a missing node gives the defaults.
     *
     * @throws IllegalArgumentException naming the key when a value is unknown, of the wrong type or out of range
     */
    public static ShadowSettings parse(JsonNode shadow) {
        ShadowSettings d = defaults();
        if (shadow == null || shadow.isMissingNode() || shadow.isNull()) {
            return d;
        }
        if (!shadow.isObject()) {
            throw new IllegalArgumentException("config.json 'probe.shadow' must be an object, not " + shadow);
        }
        for (Iterator<String> it = shadow.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("config.json 'probe.shadow' has unknown key '" + key + "' (known: "
                        + String.join(", ", new TreeSet<>(KEYS)) + ")");
            }
        }
        JsonNode enabled = shadow.path("enabled");
        if (!enabled.isMissingNode() && !enabled.isBoolean()) {
            throw new IllegalArgumentException("config.json 'probe.shadow.enabled' must be true or false, not "
                    + enabled);
        }
        JsonNode rate = shadow.path("sample_rate");
        if (!rate.isMissingNode() && !rate.isNumber()) {
            throw new IllegalArgumentException("config.json 'probe.shadow.sample_rate' must be a number, not " + rate);
        }
        JsonNode calibration = shadow.path("calibration");
        Calibration c = d.calibration();
        if (!calibration.isMissingNode()) {
            if (!calibration.isTextual()) {
                throw new IllegalArgumentException("config.json 'probe.shadow.calibration' must be \"absmax\" or "
                        + "\"percentile\", not " + calibration);
            }
            try {
                c = Calibration.parse(calibration.textValue(), d.calibration());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("config.json 'probe.shadow.calibration': " + e.getMessage());
            }
        }
        JsonNode rebuild = shadow.path("rebuild_seconds");
        if (!rebuild.isMissingNode() && (!rebuild.isIntegralNumber() || !rebuild.canConvertToLong())) {
            throw new IllegalArgumentException("config.json 'probe.shadow.rebuild_seconds' must be an integer, not "
                    + rebuild);
        }
        return new ShadowSettings(enabled.asBoolean(d.enabled()),
                rate.isMissingNode() ? d.sampleRate() : rate.doubleValue(), c,
                strings(shadow, "keep_fp32", d.keepFp32()), strings(shadow, "class_outputs", d.classOutputs()),
                rebuild.isMissingNode() ? d.rebuildSeconds() : rebuild.longValue());
    }

    private static List<String> strings(JsonNode node, String key, List<String> dflt) {
        JsonNode n = node.path(key);
        if (n.isMissingNode()) {
            return dflt;
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("config.json 'probe.shadow." + key + "' must be an array of strings, "
                    + "not " + n);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new IllegalArgumentException("config.json 'probe.shadow." + key + "' must hold strings, not "
                        + e);
            }
            out.add(e.textValue());
        }
        return out;
    }
}
