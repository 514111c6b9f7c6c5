package dev.vigil.tests.probes;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** The fixed MiniLM request the probe benches send: B × T random word pieces as binary tensors, binary outputs. */
final class MiniLmBinaryRequests {
    private MiniLmBinaryRequests() {
    }

    /** The JSON header of a B × T request whose three INT64 inputs follow as binary data. */
    static byte[] header(int batch, int seq) {
        String[] inputs = {"input_ids", "attention_mask", "token_type_ids"};
        StringBuilder sb = new StringBuilder("{\"inputs\":[");
        for (int k = 0; k < inputs.length; k++) {
            sb.append(k > 0 ? "," : "").append("{\"name\":\"").append(inputs[k]).append("\",\"datatype\":\"INT64\",")
                    .append("\"shape\":[").append(batch).append(',').append(seq).append("],")
                    .append("\"parameters\":{\"binary_data_size\":").append(batch * seq * 8).append("}}");
        }
        return sb.append("],\"parameters\":{\"binary_data_output\":true}}").toString()
                .getBytes(StandardCharsets.UTF_8);
    }

    /** The header, then ids ([CLS] + random word pieces + [SEP], fixed seed), an all-ones mask, zero type ids. */
    static byte[] body(byte[] header, int batch, int seq) {
        Random random = new Random(42);
        ByteBuffer ids = ByteBuffer.allocate(batch * seq * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer mask = ByteBuffer.allocate(batch * seq * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer types = ByteBuffer.allocate(batch * seq * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                ids.putLong(t == 0 ? 101 : t == seq - 1 ? 102 : 1000 + random.nextInt(28000));
                mask.putLong(1);
                types.putLong(0);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        out.writeBytes(ids.array());
        out.writeBytes(mask.array());
        out.writeBytes(types.array());
        return out.toByteArray();
    }

    /** Sends {@code request}; IllegalStateException with the reply unless it is a 200. */
    static void send(HttpClient client, HttpRequest request) throws Exception {
        HttpResponse<byte[]> r = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.statusCode() + ": " + new String(r.body(), StandardCharsets.UTF_8));
        }
    }
}
