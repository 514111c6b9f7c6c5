package dev.vigil.server.probe;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A copy, on the heap, of the model inputs of one served run (the token tensors of a text request), to run again
 * later off the request path.
 *
 * @param feeds the model inputs by name
 */
public record RecordedRequest(Map<String, Feed> feeds) {
    public RecordedRequest {
        feeds = Map.copyOf(feeds);
    }

    /**
     * One input tensor.
     *
     * @param type  its element type
     * @param shape its shape
     * @param data  its elements, row-major, little-endian
     */
    public record Feed(OnnxJavaType type, long[] shape, byte[] data) {
    }

    /** The bytes the inputs of a run would take as a recording; -1 when one of them cannot be recorded (strings). */
    static long bytesOf(Map<String, OnnxTensor> feeds) {
        long bytes = 0;
        for (OnnxTensor t : feeds.values()) {
            TensorInfo info = t.getInfo();
            if (info.type == OnnxJavaType.STRING || info.type == OnnxJavaType.UNKNOWN) {
                return -1;
            }
            bytes += info.getNumElements() * info.type.size;
        }
        return bytes;
    }

    /** Copies the inputs of a run (numeric or bool tensors). */
    static RecordedRequest copyOf(Map<String, OnnxTensor> feeds) {
        Map<String, Feed> copy = new LinkedHashMap<>();
        for (Map.Entry<String, OnnxTensor> e : feeds.entrySet()) {
            TensorInfo info = e.getValue().getInfo();
            ByteBuffer b = e.getValue().getByteBuffer();
            byte[] data = new byte[b.remaining()];
            b.get(data);
            copy.put(e.getKey(), new Feed(info.type, info.getShape(), data));
        }
        return new RecordedRequest(copy);
    }

    /** The recorded inputs as new ORT tensors; the caller closes them. */
    public Map<String, OnnxTensor> tensors(OrtEnvironment env) throws OrtException {
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Feed> e : feeds.entrySet()) {
                Feed f = e.getValue();
                ByteBuffer b = ByteBuffer.allocateDirect(f.data().length).order(ByteOrder.nativeOrder());
                b.put(f.data()).flip();
                out.put(e.getKey(), OnnxTensor.createTensor(env, b, f.shape(), f.type()));
            }
        } catch (OrtException | RuntimeException e) {
            out.values().forEach(OnnxTensor::close);
            throw e;
        }
        return out;
    }

    /** The bytes this recording holds. */
    public long bytes() {
        long n = 0;
        for (Feed f : feeds.values()) {
            n += f.data().length;
        }
        return n;
    }
}
