package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.stats.ProbeSettings;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operators the in-graph reductions append, with the element types they run on, stay within the list checked
 * against ONNX Runtime's CUDA execution provider kernels (docs/GPU.md): a node outside it could be placed on the CPU
 * provider and copy its tensors to the host, which the reductions exist to avoid. The types are the ones ONNX Runtime
 * infers for the unoptimized graph, on MiniLM (opset 16 once appended to) and the planted-outliers model (opset 17).
 */
class ReductionOpsTest {
    /**
     * {@code Op(input types)->output types}, each found in the CUDA execution provider's kernel table for opsets
     * 16–18 (the table in docs/GPU.md).
     */
    static final Set<String> CUDA_CHECKED = Set.of(
            "Abs(float)->float",
            "Add(float,float)->float",
            "Add(int64,int64)->int64",
            "And(bool,bool)->bool",
            "Cast(bool)->double",
            "Cast(bool)->float",
            "Cast(bool)->int64",
            "Cast(double)->int32",
            "Cast(float)->bool",
            "Cast(float)->double",
            "Cast(float)->int32",
            "Cast(float)->int64",
            "Cast(int64)->float",
            "Concat(double,double,double,double,double,double,double,double,double,double,double,double)->double",
            "Concat(float,float)->float",
            "Concat(float,float,float)->float",
            "Concat(int64,int64)->int64",
            "Concat(int64,int64,int64)->int64",
            "Concat(int64,int64,int64,int64)->int64",
            "ConstantOfShape(int64)->double",
            "Div(float,float)->float",
            "Div(int64,int64)->int64",
            "Equal(float,float)->bool",
            "Equal(int64,int64)->bool",
            "Expand(int64,int64)->int64",
            "Floor(float)->float",
            "GatherElements(float,int64)->float",
            "Greater(float,float)->bool",
            "GreaterOrEqual(float,float)->bool",
            "Identity(double)->double",
            "Identity(float)->float",
            "Identity(int32)->int32",
            "Identity(int64)->int64",
            "Less(float,float)->bool",
            "Log(float)->float",
            "Max(float,float)->float",
            "Max(int64,int64)->int64",
            "Min(float,float)->float",
            "Mul(float,float)->float",
            "Mul(int64,int64)->int64",
            "Neg(float)->float",
            "Not(bool)->bool",
            "Pad(float,int64,float)->float",
            "Pow(float,float)->float",
            "Range(int64,int64,int64)->int64",
            "Reciprocal(float)->float",
            "ReduceMax(float)->float",
            "ReduceMax(int64)->int64",
            "ReduceMean(float)->float",
            "ReduceMin(float)->float",
            "ReduceSum(double)->double",
            "ReduceSum(double,int64)->double",
            "ReduceSum(float)->float",
            "ReduceSum(float,int64)->float",
            "ReduceSum(int64,int64)->int64",
            "ReduceSumSquare(float)->float",
            "Relu(float)->float",
            "Reshape(bool,int64)->bool",
            "Reshape(double,int64)->double",
            "Reshape(float,int64)->float",
            "Reshape(int64,int64)->int64",
            "ScatterElements(double,int64,double)->double",
            "Shape(float)->int64",
            "Shape(int64)->int64",
            "Slice(float,int64,int64,int64)->float",
            "Slice(int64,int64,int64,int64)->int64",
            "Sqrt(float)->float",
            "Sub(float,float)->float",
            "Sub(int64,int64)->int64",
            "TopK(float,int64)->float,int64",
            "Where(bool,float,float)->float");

    @Test
    void miniLmReductionsUseOnlyCheckedOperators() throws Exception {
        assertWithinList("all-minilm-l6-v2");
    }

    @Test
    void plantedModelReductionsUseOnlyCheckedOperators() throws Exception {
        assertWithinList("planted-outliers");
    }

    private static void assertWithinList(String model) throws Exception {
        ModelProto proto = OnnxModels.read(Path.of("../models/" + model + "/model.onnx"));
        ProbeSettings settings = ProbeSettings.defaults();
        ModelProto reduced = ReductionGraph.withReductions(proto, settings.select(SiteDiscovery.discover(proto)),
                settings);
        Set<String> used = signatures(reduced);
        assertTrue(opset(reduced) >= 16, "the kernels were checked from opset 16 on");
        Set<String> outside = new TreeSet<>(used);
        outside.removeAll(CUDA_CHECKED);
        assertEquals(Set.of(), outside, "operators not checked against the CUDA kernels of ONNX Runtime");
        assertTrue(used.size() > 20, "the walk saw the reductions: " + used);
    }

    /**
     * The signature of every appended node, typed by ONNX Runtime: each value the reductions compute is declared a
     * graph output without a type, which ORT fills in from its own inference of the unoptimized graph.
     */
    private static Set<String> signatures(ModelProto model) throws Exception {
        ModelProto.Builder typed = model.toBuilder();
        Set<String> outputs = new HashSet<>();
        model.getGraph().getOutputList().forEach(v -> outputs.add(v.getName()));
        List<NodeProto> appended = new ArrayList<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            if (n.getName().startsWith("vigil.reduce/")) {
                appended.add(n);
                for (String o : n.getOutputList()) {
                    if (outputs.add(o)) {
                        typed.getGraphBuilder().addOutput(ValueInfoProto.newBuilder().setName(o));
                    }
                }
            }
        }
        Map<String, String> types = new HashMap<>();
        for (TensorProto t : model.getGraph().getInitializerList()) {
            types.put(t.getName(), TensorProto.DataType.forNumber(t.getDataType()).name().toLowerCase(Locale.ROOT));
        }
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession session = env.createSession(typed.build().toByteArray(), opts)) {
                for (Map<String, NodeInfo> infos : List.of(session.getInputInfo(), session.getOutputInfo())) {
                    for (NodeInfo info : infos.values()) {
                        String type = ((TensorInfo) info.getInfo()).onnxType.name();
                        types.put(info.getName(), type.substring(type.lastIndexOf('_') + 1).toLowerCase(Locale.ROOT));
                    }
                }
            }
        }
        Set<String> out = new TreeSet<>();
        for (NodeProto n : appended) {
            StringBuilder s = new StringBuilder(n.getOpType()).append('(');
            for (int i = 0; i < n.getInputCount(); i++) {
                s.append(i == 0 ? "" : ",").append(type(types, n.getInput(i)));
            }
            s.append(")->");
            for (int i = 0; i < n.getOutputCount(); i++) {
                s.append(i == 0 ? "" : ",").append(type(types, n.getOutput(i)));
            }
            out.add(s.toString());
        }
        return out;
    }

    private static String type(Map<String, String> types, String value) {
        String t = types.get(value);
        if (t == null) {
            throw new AssertionError("ONNX Runtime inferred no type for '" + value + "'");
        }
        return t;
    }

    private static long opset(ModelProto model) {
        for (OperatorSetIdProto id : model.getOpsetImportList()) {
            if (id.getDomain().isEmpty() || id.getDomain().equals("ai.onnx")) {
                return id.getVersion();
            }
        }
        return -1;
    }
}
