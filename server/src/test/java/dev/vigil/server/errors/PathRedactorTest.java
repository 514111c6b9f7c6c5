package dev.vigil.server.errors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PathRedactorTest {
    @TempDir
    Path repo;

    @Test
    void repositoryPathsBecomeRelativeOtherAbsolutePathsTheirFileName() {
        PathRedactor r = new PathRedactor(repo);
        assertEquals("no model.onnx in broken", r.redact("no model.onnx in " + repo.toAbsolutePath() + "/broken"));
        assertEquals("cannot open broken/tokenizer.json (denied)",
                r.redact("cannot open " + repo + "/broken/tokenizer.json (denied)"));
        assertEquals("Load model from libonnxruntime.so failed: 'model.onnx'",
                r.redact("Load model from /tmp/onnxruntime-java42/libonnxruntime.so failed: 'model.onnx'"));
        assertEquals("file x.bin", r.redact("file /x.bin"));
    }

    @Test
    void urlsRelativePathsAndRatiosAreLeftAlone() {
        PathRedactor r = new PathRedactor(repo);
        for (String keep : new String[]{"see http://127.0.0.1:8080/v2/models/a/infer", "models/a/config.json",
                "3/4 of the rows", "shape [1, 3] / [2]", "a // b"}) {
            assertEquals(keep, r.redact(keep));
        }
    }
}
