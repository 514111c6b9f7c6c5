package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link PlantedOutliersModel}: the committed copy is the generator's output, and its residual stream x = E[ids]
 * has the planted properties, checked by a separate double-precision computation (sorting for the median) of
 * SPEC §5's definitions over the worst case the traffic produces: sequences of the minimum length.
 */
class PlantedOutliersModelTest {

    @Test
    void committedModelIsTheGeneratorsOutput() throws Exception {
        Path dir = DashboardsTest.grafanaDir().getParent().resolve("models/planted-outliers");
        assertArrayEquals(PlantedOutliersModel.bytes(), Files.readAllBytes(dir.resolve("model.onnx")),
                "regenerate with PlantedOutliersModel.main");
        assertEquals(PlantedOutliersModel.CONFIG, Files.readString(dir.resolve("config.json")));
        assertTrue(Files.size(dir.resolve("model.onnx")) < 1 << 20);
    }

    @Test
    void residualStreamHasOneMassiveOutlierChannelAndLowInt8Sqnr() {
        float[][] e = PlantedOutliersModel.embeddings();
        int d = PlantedOutliersModel.D;
        int length = PlantedOutliersModel.MIN_TOKENS;
        Random rnd = new Random(3);
        double signal = 0;
        double absMax = 0;
        double[] channelMax = new double[d];
        int sequences = 64;
        double[][] window = new double[sequences * length][];
        for (int s = 0; s < sequences; s++) {
            double[] abs = new double[length * d];
            for (int t = 0; t < length; t++) {
                int id = t == 0 ? PlantedOutliersModel.BOS : 2 + rnd.nextInt(PlantedOutliersModel.VOCAB - 2);
                double[] row = new double[d];
                for (int c = 0; c < d; c++) {
                    row[c] = e[id][c];
                    abs[t * d + c] = Math.abs(row[c]);
                    signal += row[c] * row[c];
                    absMax = Math.max(absMax, abs[t * d + c]);
                    channelMax[c] = Math.max(channelMax[c], abs[t * d + c]);
                }
                window[s * length + t] = row;
            }
            Arrays.sort(abs);
            double median = (abs[abs.length / 2 - 1] + abs[abs.length / 2]) / 2;
            int massive = 0;
            for (double a : abs) {
                if (a > 100 && a > 1000 * median) {
                    massive++;
                }
            }
            assertEquals(1, massive, "one massive element per sequence (median " + median + ")");
        }
        int outlierChannels = 0;
        for (double m : channelMax) {
            outlierChannels += m > 6 ? 1 : 0;
        }
        assertEquals(1, outlierChannels);
        assertEquals(PlantedOutliersModel.MASSIVE, channelMax[PlantedOutliersModel.MASSIVE_CHANNEL], 0.0);

        double scale = absMax / 127;
        double noise = 0;
        for (double[] row : window) {
            for (double x : row) {
                double q = Math.max(-127, Math.min(127, Math.rint(x / scale))) * scale;
                noise += (x - q) * (x - q);
            }
        }
        double sqnr = 10 * Math.log10(signal / noise);
        assertTrue(sqnr < 19, "absmax int8 SQNR " + sqnr + " dB must sit clearly under the alert's 20 dB");
    }
}
