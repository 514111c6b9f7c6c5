package dev.vigil.probes;

import static dev.vigil.probes.TestGraph.in;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OnnxModelsTest {
    @Test
    void parsesWhatItWasGiven() {
        ModelProto m = new TestGraph().input("x", 2).node("Relu", in("x"), "y").output("y", 2).build();
        assertEquals(m, OnnxModels.parse(m.toByteArray()));
    }

    @Test
    void garbageAndEmptyModelsAreClearErrors() {
        IllegalArgumentException garbage = assertThrows(IllegalArgumentException.class,
                () -> OnnxModels.parse(new byte[] {(byte) 0xff, 0x7f, 0x01}));
        assertTrue(garbage.getMessage().startsWith("not an ONNX model"), garbage.getMessage());
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> OnnxModels.parse(new byte[0]));
        assertEquals("not an ONNX model: no graph nodes", empty.getMessage());
    }

    @Test
    void externalDataIsRejected() {
        ModelProto m = new TestGraph().input("x", 2).node("Relu", in("x"), "y").output("y", 2).build();
        TensorProto external = TensorProto.newBuilder().setName("W").setDataType(1).addDims(2)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"))
                .build();
        ModelProto withExternal = m.toBuilder().setGraph(m.getGraph().toBuilder().addInitializer(external)).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxModels.parse(withExternal.toByteArray()));
        assertTrue(e.getMessage().contains("external data"), e.getMessage());
    }

    @Test
    void missingFileIsAClearError() {
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> OnnxModels.read(Path.of("no/such/model.onnx")));
        assertTrue(e.getMessage().contains("no/such/model.onnx"), e.getMessage());
    }
}
