package dev.vigil.probes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Site names on the real MiniLM export (PyTorch scope names) and the exporter's models (tensor names only). */
class SiteNamesTest {

    @Test
    void miniLmNamesFollowTheHuggingFaceModules() {
        assertTrue(Files.exists(MiniLmSitesTest.MODEL), "MiniLM is not unpacked (the probes module's build does it)");
        Map<String, String> names = names(MiniLmSitesTest.MODEL);
        assertEquals(50, names.size(), "every site is named");
        assertEquals("embeddings LayerNorm in", names.get("residual 0"));
        for (int l = 0; l < MiniLmSitesTest.LAYERS; l++) {
            String block = "block " + l + " · ";
            assertEquals(block + "attention self softmax", names.get("attention " + l));
            assertEquals(block + "intermediate GELU", names.get("mlp " + l));
            assertEquals(block + "attention output LayerNorm in", names.get("residual " + (2 * l + 1)));
            assertEquals(block + "output LayerNorm in", names.get("residual " + (2 * l + 2)));
            // the Q, K and V MatMuls share their input: one name for the three
            assertEquals(block + "attention self query/key/value in", names.get("matmul_input " + 4 * l));
            assertEquals(block + "attention output dense in", names.get("matmul_input " + (4 * l + 1)));
            assertEquals(block + "intermediate dense in", names.get("matmul_input " + (4 * l + 2)));
            assertEquals(block + "output dense in", names.get("matmul_input " + (4 * l + 3)));
        }
        assertEquals("pooler dense in", names.get("matmul_input 24"));
    }

    @Test
    void int8MiniLmSitesHaveTheFloatNames() {
        // the published int8 export: the MatMuls are MatMulInteger behind DynamicQuantizeLinear
        assertTrue(Files.exists(MiniLmSitesTest.MODEL) && Files.exists(QuantizedMiniLmSitesTest.INT8),
                "the MiniLM exports are not unpacked (the probes module's build does it)");
        Map<String, String> float32 = names(MiniLmSitesTest.MODEL);
        Map<String, String> int8 = names(QuantizedMiniLmSitesTest.INT8);
        assertEquals(49, int8.size(), "no pooler in the int8 export");
        int8.forEach((site, name) -> assertEquals(float32.get(site), name, site));
    }

    @Test
    void exporterModelsAreNamedFromTheirTensorNames() {
        // node names there are only op names (LayerNormalization_24): the norm's output, the weight and the site
        // tensor say where the site is
        Map<String, String> prenorm = names(Path.of("../models/prenorm-256/model.onnx"));
        assertEquals(Map.ofEntries(
                Map.entry("attention 0", "block 0 · attention softmax"),
                Map.entry("attention 1", "block 1 · attention softmax"),
                Map.entry("mlp 0", "block 0 · mlp GELU"),
                Map.entry("mlp 1", "block 1 · mlp GELU"),
                Map.entry("residual 0", "block 0 · mixer norm in"),
                Map.entry("residual 1", "block 0 · mlp norm in"),
                Map.entry("residual 2", "block 1 · mixer norm in"),
                Map.entry("residual 3", "block 1 · mlp norm in"),
                Map.entry("residual 4", "final norm in"),
                Map.entry("matmul_input 0", "block 0 · attention query/key/value in"),
                Map.entry("matmul_input 1", "block 0 · attention output in"),
                Map.entry("matmul_input 2", "block 0 · mlp up in"),
                Map.entry("matmul_input 3", "block 0 · mlp down in"),
                Map.entry("matmul_input 4", "block 1 · attention query/key/value in"),
                Map.entry("matmul_input 5", "block 1 · attention output in"),
                Map.entry("matmul_input 6", "block 1 · mlp up in"),
                Map.entry("matmul_input 7", "block 1 · mlp down in"),
                Map.entry("matmul_input 8", "head in")), prenorm);

        Map<String, String> postnorm = names(Path.of("../models/postnorm-256/model.onnx"));
        assertEquals("block 0 · mixer norm in", postnorm.get("residual 0"));
        assertEquals("block 1 · mlp norm in", postnorm.get("residual 3"));
        assertEquals("block 0 · attention query/key/value in", postnorm.get("matmul_input 0"));

        Map<String, String> eft = names(Path.of("../models/eft-256/model.onnx"));
        assertEquals("block 1 · mlp down in", eft.get("matmul_input 3"));
        assertEquals("final norm in", eft.get("residual 4"));
    }

    @Test
    void handWrittenNodeNamesAreUsedAsTheyAre() {
        // planted-outliers names its nodes itself (ln1, up, down); "relu" is only its op
        assertEquals(Map.of("mlp 0", "ReLU", "residual 0", "ln1 in", "residual 1", "ln2 in",
                        "matmul_input 0", "route in", "matmul_input 1", "up in", "matmul_input 2", "down in",
                        "matmul_input 3", "head in"),
                names(Path.of("../models/planted-outliers/model.onnx")));
    }

    @Test
    void blockComponentsOfCommonExportersAreRecognized() {
        // GPT-2 (h.N), Llama (layers.N), a hand-written blockN: only the scope of the node name matters
        for (String[] c : List.of(new String[]{"/transformer/h.3/ln_1/ReduceMean", "block 3 · ln 1 in"},
                new String[]{"/model/layers.11/post_attention_layernorm/Pow", "block 11 · post attention layernorm in"},
                new String[]{"/block7/norm/ReduceMean", "block 7 · norm in"})) {
            ModelProto model = ModelProto.newBuilder().setGraph(GraphProto.newBuilder()
                    .addNode(NodeProto.newBuilder().setOpType("ReduceMean").setName(c[0]).addInput("x").addOutput("m"))
                    .addNode(NodeProto.newBuilder().setOpType("Sub").setName("sub").addInput("x").addInput("m")
                            .addOutput("d"))).build();
            ProbeSite site = new ProbeSite(SiteKind.RESIDUAL, 0, "x", List.of(), "test");
            assertEquals(c[1], SiteNames.of(model, List.of(site)).get(site), c[0]);
        }
    }

    private static Map<String, String> names(Path model) {
        ModelProto proto = OnnxModels.read(model);
        Map<String, String> out = new LinkedHashMap<>();
        SiteNames.of(proto, SiteDiscovery.discover(proto)).forEach((s, n) -> out.put(s.kind().label() + " " + s.layer(), n));
        return out;
    }
}
