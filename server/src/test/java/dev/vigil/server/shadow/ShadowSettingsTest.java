package dev.vigil.server.shadow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.vigil.server.quant.Calibration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code probe.shadow} parsing: the documented defaults, every key, and a message naming each mistake. */
class ShadowSettingsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void missingBlockGivesTheDocumentedDefaults() {
        ShadowSettings d = ShadowSettings.parse(MissingNode.getInstance());
        assertEquals(new ShadowSettings(false, 0.05, Calibration.PERCENTILE, List.of(), List.of("logits"), 300), d);
    }

    @Test
    void everyKeyIsRead() throws Exception {
        ShadowSettings s = ShadowSettings.parse(JSON.readTree("{\"enabled\": true, \"sample_rate\": 0.5, "
                + "\"calibration\": \"absmax\", \"keep_fp32\": [\"a\", \"b\"], \"class_outputs\": [], "
                + "\"rebuild_seconds\": 0}"));
        assertEquals(new ShadowSettings(true, 0.5, Calibration.ABSMAX, List.of("a", "b"), List.of(), 0), s);
    }

    @Test
    void mistakesNameTheKey() {
        assertMessage("{\"enable\": true}", "unknown key 'enable'");
        assertMessage("{\"enabled\": 1}", "'probe.shadow.enabled' must be true or false");
        assertMessage("{\"sample_rate\": 1.5}", "probe.shadow.sample_rate must be in [0, 1]");
        assertMessage("{\"sample_rate\": \"all\"}", "'probe.shadow.sample_rate' must be a number");
        assertMessage("{\"calibration\": \"minmax\"}", "unknown calibration 'minmax'");
        assertMessage("{\"calibration\": 3}", "'probe.shadow.calibration' must be");
        assertMessage("{\"keep_fp32\": \"x\"}", "'probe.shadow.keep_fp32' must be an array of strings");
        assertMessage("{\"class_outputs\": [1]}", "'probe.shadow.class_outputs' must hold strings");
        assertMessage("{\"rebuild_seconds\": -1}", "probe.shadow.rebuild_seconds must be >= 0");
        assertMessage("{\"rebuild_seconds\": 1.5}", "'probe.shadow.rebuild_seconds' must be an integer");
        assertMessage("[]", "'probe.shadow' must be an object");
    }

    private static void assertMessage(String json, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShadowSettings.parse(JSON.readTree(json)));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
