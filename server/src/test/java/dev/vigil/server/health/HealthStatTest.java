package dev.vigil.server.health;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.CosineSnapshot;
import dev.vigil.probes.stats.DeadNeuronSnapshot;
import dev.vigil.probes.stats.MassiveSnapshot;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.QuantSnapshot;
import dev.vigil.probes.stats.SiteSnapshot;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The health levels at the thresholds of grafana/alerts.yml and docs/PROBES.md, on both sides of each. */
class HealthStatTest {
    private static final ProbeSettings SETTINGS = ProbeSettings.defaults();

    @Test
    void int8AlarmsFollowTheAlertsOnMatmulInputsOnly() {
        // VigilInt8SqnrLow: < 20 dB; VigilInt8OutlierChannels: > 0; both on kind="matmul_input" only
        assertEquals(HealthLevel.ALARM, HealthStat.INT8_SQNR_DB.level(quant(SiteKind.MATMUL_INPUT, 19.99, 0), SETTINGS));
        assertEquals(HealthLevel.OK, HealthStat.INT8_SQNR_DB.level(quant(SiteKind.MATMUL_INPUT, 20.0, 0), SETTINGS));
        assertEquals(HealthLevel.INFO, HealthStat.INT8_SQNR_DB.level(quant(SiteKind.RESIDUAL, 5.0, 0), SETTINGS));
        assertEquals(HealthLevel.ALARM, HealthStat.OUTLIER_CHANNELS.level(quant(SiteKind.MATMUL_INPUT, 40, 1), SETTINGS));
        assertEquals(HealthLevel.OK, HealthStat.OUTLIER_CHANNELS.level(quant(SiteKind.MATMUL_INPUT, 40, 0), SETTINGS));
        assertEquals(HealthLevel.INFO, HealthStat.OUTLIER_CHANNELS.level(quant(SiteKind.MLP, 40, 9), SETTINGS));
        assertEquals(HealthLevel.NONE, HealthStat.INT8_SQNR_DB.level(site(SiteKind.MATMUL_INPUT, null, null, null,
                null), SETTINGS), "no window value yet");
    }

    @Test
    void massiveAlarmIsAWindowWithMassiveElements() {
        // VigilMassiveActivationAppeared counts elements with |h| > abs_threshold and > median_ratio x median
        assertEquals(HealthLevel.ALARM, HealthStat.MASSIVE_RATIO.level(massive(1, 181_921), SETTINGS));
        assertEquals(HealthLevel.WARN, HealthStat.MASSIVE_RATIO.level(massive(0, 1001), SETTINGS),
                "past median_ratio on values below abs_threshold");
        assertEquals(HealthLevel.OK, HealthStat.MASSIVE_RATIO.level(massive(0, 1000), SETTINGS));
        assertEquals(HealthLevel.NONE, HealthStat.MASSIVE_RATIO.level(massive(0, Double.NaN), SETTINGS));
    }

    @Test
    void sickRangesWithoutAnAlertWarn() {
        assertEquals(HealthLevel.WARN, HealthStat.DEAD_RATIO.level(dead(0.5, 0), SETTINGS));
        assertEquals(HealthLevel.OK, HealthStat.DEAD_RATIO.level(dead(0.49, 0), SETTINGS));
        assertEquals(HealthLevel.WARN, HealthStat.DORMANT_RATIO.level(dead(0, 0.05), SETTINGS));
        assertEquals(HealthLevel.OK, HealthStat.DORMANT_RATIO.level(dead(0, 0.049), SETTINGS));
        SiteSnapshot collapsed = site(SiteKind.RESIDUAL, null, null, new CosineSnapshot(3, 0.9), null);
        assertEquals(HealthLevel.WARN, HealthStat.TOKEN_COSINE.level(collapsed, SETTINGS));
        SiteSnapshot diverse = site(SiteKind.RESIDUAL, null, null, new CosineSnapshot(3, 0.89), null);
        assertEquals(HealthLevel.OK, HealthStat.TOKEN_COSINE.level(diverse, SETTINGS));
    }

    private static SiteSnapshot quant(SiteKind kind, double sqnr, int outliers) {
        return site(kind, null, null, null, new QuantSnapshot(100, 8, -1, 1, 1, 1, 1, 1, 3, sqnr, sqnr, outliers));
    }

    private static SiteSnapshot massive(long windowCount, double ratio) {
        return site(SiteKind.RESIDUAL, null, new MassiveSnapshot(windowCount, ratio, Double.NaN, windowCount,
                Map.of()), null, null);
    }

    private static SiteSnapshot dead(double deadRatio, double dormantRatio) {
        return site(SiteKind.MLP, new DeadNeuronSnapshot(100, 10, (int) (100 * deadRatio), deadRatio,
                (int) (100 * dormantRatio), dormantRatio), null, null, null);
    }

    private static SiteSnapshot site(SiteKind kind, DeadNeuronSnapshot dead, MassiveSnapshot massive,
                                     CosineSnapshot cosine, QuantSnapshot quant) {
        return new SiteSnapshot(new ProbeSite(kind, 0, "t", List.of(), "test"), List.of(), dead, massive, null,
                cosine, quant);
    }
}
