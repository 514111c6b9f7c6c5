package dev.vigil.exporter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.SiteKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Vigil's site discovery finds, in every exported architecture, the sites the graph layout promises.
 * The expected tensor names are derived here from the architecture's wiring, layer by layer.
 */
class ProbeSitesTest {
    private static final int LAYERS = 3;

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void discoveryFindsEveryAttentionMlpResidualAndMatmulSite(Architecture architecture) {
        ModelOptions options = new ModelOptions(architecture, 12, 8, 8, LAYERS, 2, 16, 3, MlpActivation.GELU, Pooling.MEAN);
        List<ProbeSite> sites;
        try (NDManager manager = NDManager.newBaseManager()) {
            sites = SiteDiscovery.discover(OnnxExporter.export(SequenceClassifier.create(options, manager), "sites"));
        }
        List<String> attention = new ArrayList<>();
        List<String> mlp = new ArrayList<>();
        List<String> residual = new ArrayList<>();
        List<String> matmul = new ArrayList<>();
        String layerInput = "embeddings.out";
        for (int i = 0; i < LAYERS; i++) {
            String p = "layer" + i;
            boolean attends = architecture.mixing() == Architecture.TokenMixing.ATTENTION;
            if (attends) {
                attention.add(p + ".attention.probs");
            }
            mlp.add(p + ".mlp.act");
            if (architecture.preNorm()) {
                residual.add(layerInput);
                residual.add(p + ".mixer_residual");
                if (attends) {
                    matmul.add(p + ".mixer_norm.out");
                    matmul.add(p + ".attention.context_flat");
                }
                matmul.add(p + ".mlp_norm.out");
                layerInput = p + ".out";
            } else {
                residual.add(p + ".mixer_residual");
                residual.add(p + ".mlp_residual");
                matmul.add(layerInput);
                matmul.add(p + ".attention.context_flat");
                matmul.add(p + ".mixer_norm.out");
                layerInput = p + ".mlp_norm.out";
            }
            matmul.add(p + ".mlp.act");
        }
        if (architecture.preNorm()) {
            residual.add(layerInput);
        }
        matmul.add("pooled");
        assertEquals(attention, tensors(sites, SiteKind.ATTENTION), "attention");
        assertEquals(mlp, tensors(sites, SiteKind.MLP), "mlp");
        assertEquals(residual, tensors(sites, SiteKind.RESIDUAL), "residual");
        assertEquals(matmul, tensors(sites, SiteKind.MATMUL_INPUT), "matmul_input");
    }

    /** Tensor names of one kind, in layer order, checking the layer ordinals run 0, 1, 2, ... */
    private static List<String> tensors(List<ProbeSite> sites, SiteKind kind) {
        List<String> out = new ArrayList<>();
        for (ProbeSite site : sites) {
            if (site.kind() == kind) {
                assertEquals(out.size(), site.layer(), "layer ordinal of " + site);
                out.add(site.tensor());
            }
        }
        return out;
    }
}
