package dev.vigil.exporter;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The probe figures of one probe site of a served model, read back from Vigil's {@code /metrics}
 * (SPEC §5). A figure the site's kind does not have is {@code NaN}.
 *
 * @param kind            {@code mlp}, {@code residual} or {@code attention}
 * @param layer           the site's layer label
 * @param tensor          the site's tensor label
 * @param deadRatio       {@code vigil_neurons_dead_ratio}
 * @param dormantRatio    {@code vigil_neurons_dormant_ratio}
 * @param massiveRatio    {@code vigil_massive_activation_ratio} (max |h| / median |h|)
 * @param massiveTotal    {@code vigil_massive_activations_total}
 * @param tokenCosine     {@code vigil_token_cosine_similarity}
 * @param sinkHeadsRatio  {@code vigil_attention_sink_heads_ratio}
 * @param sinkScoreMax    max over heads of {@code vigil_attention_sink_score}
 * @param entropyMean     mean over heads of {@code vigil_attention_entropy}
 */
public record SiteFigures(String kind, int layer, String tensor, double deadRatio, double dormantRatio,
                          double massiveRatio, double massiveTotal, double tokenCosine, double sinkHeadsRatio,
                          double sinkScoreMax, double entropyMean) {

    /** Markdown header matching {@link #markdownRow()}. */
    public static final String MARKDOWN_HEADER =
            "| model | kind | layer | tensor | dead | dormant | massive max/median | massive total | token cos "
                    + "| sink heads | sink score (max head) | entropy (mean of heads) |\n"
                    + "|---|---|---|---|---|---|---|---|---|---|---|---|";

    /**
     * The {@code mlp}, {@code residual} and {@code attention} sites of {@code model} found in the samples,
     * ordered by kind (mlp, residual, attention) then layer.
     */
    public static List<SiteFigures> of(List<PrometheusSample> samples, String model) {
        Map<String, Builder> sites = new LinkedHashMap<>();
        for (PrometheusSample s : samples) {
            String kind = s.label("kind");
            if (!model.equals(s.label("model")) || kind == null || s.label("layer") == null
                    || !(kind.equals("mlp") || kind.equals("residual") || kind.equals("attention"))) {
                continue;
            }
            Builder b = sites.computeIfAbsent(kind + "/" + s.label("layer") + "/" + s.label("tensor"),
                    k -> new Builder(kind, Integer.parseInt(s.label("layer")), s.label("tensor")));
            b.add(s);
        }
        List<SiteFigures> out = new ArrayList<>();
        sites.values().forEach(b -> out.add(b.build()));
        out.sort(Comparator.comparingInt((SiteFigures f) -> List.of("mlp", "residual", "attention").indexOf(f.kind()))
                .thenComparingInt(SiteFigures::layer));
        return out;
    }

    /** One markdown table row; figures the kind does not have are left blank. */
    public String markdownRow(String model) {
        return String.format(Locale.ROOT, "| %s | %s | %d | `%s` | %s | %s | %s | %s | %s | %s | %s | %s |",
                model, kind, layer, tensor, cell(deadRatio), cell(dormantRatio), cell(massiveRatio),
                Double.isNaN(massiveTotal) ? "" : String.format(Locale.ROOT, "%.0f", massiveTotal),
                cell(tokenCosine), cell(sinkHeadsRatio), cell(sinkScoreMax), cell(entropyMean));
    }

    private static String cell(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static final class Builder {
        private final String kind;
        private final int layer;
        private final String tensor;
        private double dead = Double.NaN;
        private double dormant = Double.NaN;
        private double massiveRatio = Double.NaN;
        private double massiveTotal = Double.NaN;
        private double cosine = Double.NaN;
        private double sinkHeads = Double.NaN;
        private double sinkMax = Double.NaN;
        private double entropySum;
        private int entropyHeads;

        Builder(String kind, int layer, String tensor) {
            this.kind = kind;
            this.layer = layer;
            this.tensor = tensor;
        }

        void add(PrometheusSample s) {
            switch (s.name()) {
                case "vigil_neurons_dead_ratio" -> dead = s.value();
                case "vigil_neurons_dormant_ratio" -> dormant = s.value();
                case "vigil_massive_activation_ratio" -> massiveRatio = s.value();
                case "vigil_massive_activations_total" -> massiveTotal = s.value();
                case "vigil_token_cosine_similarity" -> cosine = s.value();
                case "vigil_attention_sink_heads_ratio" -> sinkHeads = s.value();
                case "vigil_attention_sink_score" -> sinkMax = Double.isNaN(sinkMax) ? s.value() : Math.max(sinkMax, s.value());
                case "vigil_attention_entropy" -> {
                    entropySum += s.value();
                    entropyHeads++;
                }
                default -> {
                }
            }
        }

        SiteFigures build() {
            return new SiteFigures(kind, layer, tensor, dead, dormant, massiveRatio, massiveTotal, cosine, sinkHeads,
                    sinkMax, entropyHeads > 0 ? entropySum / entropyHeads : Double.NaN);
        }
    }
}
