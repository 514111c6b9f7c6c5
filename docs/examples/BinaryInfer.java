import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A KServe v2 client with the binary tensor data extension, on nothing but the JDK (java.net.http):
 * sends 256 token ids to the bundled model prenorm-256 as raw little-endian INT64 bytes after the JSON header and
 * asks for the logits back as raw FP32 bytes. Run it with {@code java docs/examples/BinaryInfer.java [BASE_URL]}.
 */
public class BinaryInfer {
    public static void main(String[] args) throws Exception {
        String base = args.length > 0 ? args[0] : "http://127.0.0.1:8080";
        int tokens = 256;
        ByteBuffer ids = ByteBuffer.allocate(tokens * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int t = 0; t < tokens; t++) {
            ids.putLong(t % 32 + 1);   // the exporter models' vocabulary: ids 1..32
        }
        byte[] header = ("{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1," + tokens + "],\"datatype\":\"INT64\","
                + "\"parameters\":{\"binary_data_size\":" + ids.capacity() + "}}],"
                + "\"outputs\":[{\"name\":\"logits\",\"parameters\":{\"binary_data\":true}}]}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] body = Arrays.copyOf(header, header.length + ids.capacity());
        System.arraycopy(ids.array(), 0, body, header.length, ids.capacity());

        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v2/models/prenorm-256/infer"))
                .header("Content-Type", "application/octet-stream")
                .header("Inference-Header-Content-Length", Integer.toString(header.length))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        HttpResponse<byte[]> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode() + ": "
                    + new String(response.body(), StandardCharsets.UTF_8));
        }
        // The reply: a JSON header of the length its Inference-Header-Content-Length gives, then the raw outputs.
        int jsonLength = Integer.parseInt(response.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        System.out.println(new String(response.body(), 0, jsonLength, StandardCharsets.UTF_8));
        ByteBuffer logits = ByteBuffer.wrap(response.body(), jsonLength, response.body().length - jsonLength)
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[logits.remaining() / Float.BYTES];
        for (int i = 0; i < values.length; i++) {
            values[i] = logits.getFloat();
        }
        System.out.println("logits " + Arrays.toString(values));
    }
}
