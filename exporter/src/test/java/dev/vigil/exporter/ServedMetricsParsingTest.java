package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The evaluate command's parts that do not need a server: exposition parsing, per-site figures, accuracy. */
class ServedMetricsParsingTest {

    private static final String EXPOSITION = """
            # HELP vigil_neurons_dead_ratio Fraction of channels never > 0 in the window
            # TYPE vigil_neurons_dead_ratio gauge
            vigil_neurons_dead_ratio{kind="mlp",layer="1",model="m",tensor="layer1.mlp.act"} 0.25
            vigil_neurons_dead_ratio{kind="mlp",layer="0",model="m",tensor="layer0.mlp.act"} 0.5
            vigil_neurons_dead_ratio{kind="mlp",layer="0",model="other",tensor="layer0.mlp.act"} 0.9
            vigil_neurons_dormant_ratio{kind="mlp",layer="0",model="m",tensor="layer0.mlp.act"} 0.625
            vigil_attention_sink_score{head="0",kind="attention",layer="0",model="m",tensor="a\\"b"} 0.1
            vigil_attention_sink_score{head="1",kind="attention",layer="0",model="m",tensor="a\\"b"} 0.7
            vigil_attention_entropy{head="0",kind="attention",layer="0",model="m",tensor="a\\"b"} 0.2
            vigil_attention_entropy{head="1",kind="attention",layer="0",model="m",tensor="a\\"b"} 0.6
            vigil_attention_sink_heads_ratio{kind="attention",layer="0",model="m",tensor="a\\"b"} 0.5
            vigil_massive_activations_total{kind="residual",layer="2",model="m",tensor="x"} 12.0
            vigil_massive_activation_ratio{kind="residual",layer="2",model="m",tensor="x"} +Inf
            vigil_token_cosine_similarity{kind="residual",layer="2",model="m",tensor="x"} NaN
            vigil_quant_max{kind="matmul_input",layer="0",model="m",tensor="q"} 3.0
            vigil_probe_requests_total{model="m"} 7.0
            vigil_probe_requests_total{model="other"} 100.0
            vigil_probe_dropped_total{model="m"} 2.0 1700000000000
            """;

    @Test
    void parsesNamesLabelsEscapesSpecialValuesAndTimestamps() {
        List<PrometheusSample> samples = PrometheusSample.parse(EXPOSITION);
        assertEquals(16, samples.size());
        PrometheusSample sink = samples.get(4);
        assertEquals("vigil_attention_sink_score", sink.name());
        assertEquals("a\"b", sink.label("tensor"));
        assertEquals("0", sink.label("head"));
        assertEquals(Double.POSITIVE_INFINITY, samples.get(10).value());
        assertTrue(Double.isNaN(samples.get(11).value()));
        assertEquals(2.0, samples.get(15).value(), "the timestamp is not the value");
        assertEquals(9.0, ServedEvaluation.counter(samples, "vigil_probe_requests_total", "m")
                + ServedEvaluation.counter(samples, "vigil_probe_dropped_total", "m"));
    }

    @Test
    void malformedLinesAreRejectedWithTheLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PrometheusSample.parse("vigil_x{model=\"m\"} twelve\n"));
        assertTrue(e.getMessage().contains("twelve"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PrometheusSample.parse("vigil_x{model=\"m} 1\n"));
        assertThrows(IllegalArgumentException.class, () -> PrometheusSample.parse("vigil_x{model} 1\n"));
    }

    @Test
    void siteFiguresGroupOneModelsSitesAndSummarizeHeads() {
        List<SiteFigures> sites = SiteFigures.of(PrometheusSample.parse(EXPOSITION), "m");
        assertEquals(4, sites.size(), "mlp 0, mlp 1, residual 2, attention 0; matmul_input and model 'other' left out");
        SiteFigures mlp0 = sites.get(0);
        assertEquals("mlp", mlp0.kind());
        assertEquals(0, mlp0.layer());
        assertEquals(0.5, mlp0.deadRatio());
        assertEquals(0.625, mlp0.dormantRatio());
        assertTrue(Double.isNaN(mlp0.sinkScoreMax()));
        assertEquals(0.25, sites.get(1).deadRatio());
        SiteFigures residual = sites.get(2);
        assertEquals(12.0, residual.massiveTotal());
        assertEquals(Double.POSITIVE_INFINITY, residual.massiveRatio());
        SiteFigures attention = sites.get(3);
        assertEquals(0.7, attention.sinkScoreMax(), "max over heads");
        assertEquals(0.4, attention.entropyMean(), 1e-12, "mean of 0.2 and 0.6");
        assertEquals(0.5, attention.sinkHeadsRatio());
        assertEquals("| m | mlp | 0 | `layer0.mlp.act` | 0.500 | 0.625 |  |  |  |  |  |  |", mlp0.markdownRow("m"));
    }

    @Test
    void accuracyIsTheShareOfRowsWhoseArgMaxIsTheLabel() {
        float[] logits = {
            0.1f, 0.9f, 0.0f,   // argmax 1
            2.0f, -1f, 1.0f,    // argmax 0
            0.5f, 0.5f, 0.2f,   // tie: first index, 0
            -3f, -2f, -1f,      // argmax 2
        };
        assertEquals(3, ServedEvaluation.countCorrect(logits, 3, new int[] {1, 0, 0, 1}));
        assertEquals(0, ServedEvaluation.countCorrect(logits, 3, new int[] {0, 1, 1, 0}));
        assertThrows(IllegalArgumentException.class, () -> ServedEvaluation.countCorrect(logits, 5, new int[] {0, 1, 1}));
    }
}
