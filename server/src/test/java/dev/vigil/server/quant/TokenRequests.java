package dev.vigil.server.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.Http;
import java.util.Random;

/** Token-id requests as the quantization tests send them over HTTP, and the wait for the window they close. */
final class TokenRequests {
    private TokenRequests() {
    }

    /** Ids for the bundled planted-outliers model: id 1 first, then ids 2..31. */
    static long[][] plantedIds(Random rnd, int batch, int tokens) {
        long[][] ids = new long[batch][tokens];
        for (long[] row : ids) {
            row[0] = 1;
            for (int i = 1; i < row.length; i++) {
                row[i] = 2 + rnd.nextInt(30);
            }
        }
        return ids;
    }

    /** The v2 JSON body of INT64 {@code input_ids} [B, T] and, when asked, an {@code attention_mask} of ones. */
    static String json(long[][] ids, boolean withMask) {
        StringBuilder data = new StringBuilder();
        StringBuilder mask = new StringBuilder();
        for (long[] row : ids) {
            for (long v : row) {
                data.append(data.length() == 0 ? "" : ",").append(v);
                mask.append(mask.length() == 0 ? "" : ",").append(1);
            }
        }
        String shape = "[" + ids.length + "," + ids[0].length + "]";
        String in = "{\"name\":\"input_ids\",\"shape\":" + shape + ",\"datatype\":\"INT64\",\"data\":[" + data + "]}";
        if (withMask) {
            in += ",{\"name\":\"attention_mask\",\"shape\":" + shape + ",\"datatype\":\"INT64\",\"data\":["
                    + mask + "]}";
        }
        return "{\"inputs\":[" + in + "]}";
    }

    /** Waits (bounded) until the model's calibration window has closed; returns the calibration body. */
    static JsonNode closedCalibration(Http http, String model) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            JsonNode cal = Http.json(http.get("/v2/models/" + model + "/calibration"));
            if (cal.path("tensors").path(0).path("window").path("closed").asBoolean(false)) {
                return cal;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no window closed for " + model);
    }
}
