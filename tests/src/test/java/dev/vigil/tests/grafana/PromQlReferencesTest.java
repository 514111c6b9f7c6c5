package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vigil.tests.grafana.PromQlReferences.LabelMatcher;
import dev.vigil.tests.grafana.PromQlReferences.Selector;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The scanner the dashboard checks rely on, on hand-written expressions. */
class PromQlReferencesTest {

    @Test
    void histogramQuantileOfRate() {
        PromQlReferences r = PromQlReferences.of(
                "histogram_quantile(0.99, sum by (model, le) "
                        + "(rate(vigil_request_duration_seconds_bucket{model=~\"$model\"}[$__rate_interval])))");
        assertEquals(List.of(new Selector("vigil_request_duration_seconds_bucket",
                List.of(new LabelMatcher("model", "=~", "$model")))), r.selectors());
        assertEquals(Set.of("model", "le"), r.groupingLabels());
        assertEquals(Set.of("histogram_quantile", "sum", "rate"), r.functions());
        assertEquals(Set.of("model", "__rate_interval"), r.variables());
    }

    @Test
    void bareMetricsKeywordsAndOffsets() {
        PromQlReferences r = PromQlReferences.of(
                "up == 0 or a / on (model) group_left b{x=\"y,}\", z!~'q'} offset 5m unless count(c > 0) or vector(1e3)");
        assertEquals(List.of(
                new Selector("up", List.of()),
                new Selector("a", List.of()),
                new Selector("b", List.of(new LabelMatcher("x", "=", "y,}"), new LabelMatcher("z", "!~", "q"))),
                new Selector("c", List.of())), r.selectors());
        assertEquals(Set.of("model"), r.groupingLabels());
        assertEquals(Set.of("count", "vector"), r.functions());
    }

    @Test
    void groupingAfterTheAggregatedExpression() {
        PromQlReferences r = PromQlReferences.of("max(vigil_quant_min{kind=\"mlp\"}) without (calibration, tensor)");
        assertEquals(Set.of("calibration", "tensor"), r.groupingLabels());
        assertEquals("mlp", r.selectors().get(0).valueOf("kind", "="));
    }

    @Test
    void malformedExpressionsAreReported() {
        assertThrows(IllegalArgumentException.class, () -> PromQlReferences.of("x{model=\"a}"));
        assertThrows(IllegalArgumentException.class, () -> PromQlReferences.of("x{model}"));
        assertThrows(IllegalArgumentException.class, () -> PromQlReferences.of("sum by (model rate(x)"));
        assertThrows(IllegalArgumentException.class, () -> PromQlReferences.of("rate(x[5m)"));
    }
}
