package dev.vigil.server.serving;

import dev.vigil.probes.OnnxModels;
import dev.vigil.server.errors.PathRedactor;
import dev.vigil.server.protocol.Datatype;
import dev.vigil.server.protocol.TensorSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The models of a repository directory: each {@code <dir>/<name>/model.onnx} with optional {@code config.json}
 * and {@code tokenizer.json}. A model that fails to load is kept with its reason (reported not ready); the others
 * are served.
 */
public final class ModelRepository implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ModelRepository.class);

    private final Path dir;
    private final Map<String, Entry> entries;

    private ModelRepository(Path dir, Map<String, Entry> entries) {
        this.dir = dir;
        this.entries = Collections.unmodifiableMap(entries);
    }

    /**
     * One repository entry: a loaded model, or the reason it did not load.
     *
     * @param model the model, null when it failed
     * @param error why it failed, null when it loaded; for clients: paths relative to the repository
     */
    public record Entry(String name, ServedModel model, String error) {
        /** Whether the model is loaded and served. */
        public boolean ready() {
            return model != null;
        }
    }

    /**
     * Loads every model directory under {@code dir} (sorted by name).
     *
     * @param defaultMaxBatchSize      the batch limit of models whose config.json sets none
     * @param defaultMaxSequenceLength the token limit of models whose config.json sets none
     */
    public static ModelRepository load(Path dir, SessionFactory factory, int defaultMaxBatchSize,
                                       int defaultMaxSequenceLength) throws IOException {
        return load(dir, factory, defaultMaxBatchSize, defaultMaxSequenceLength, ModelPreparer.NONE);
    }

    /**
     * Loads every model directory under {@code dir} (sorted by name), each through {@code preparer}.
     *
     * @param defaultMaxBatchSize      the batch limit of models whose config.json sets none
     * @param defaultMaxSequenceLength the token limit of models whose config.json sets none
     */
    public static ModelRepository load(Path dir, SessionFactory factory, int defaultMaxBatchSize,
                                       int defaultMaxSequenceLength, ModelPreparer preparer) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("model repository " + dir + " is not a directory");
        }
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> list = Files.list(dir)) {
            list.filter(Files::isDirectory)
                    .filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted()
                    .forEach(dirs::add);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        PathRedactor paths = new PathRedactor(dir);
        for (Path modelDir : dirs) {
            String name = modelDir.getFileName().toString();
            long t0 = System.nanoTime();
            try {
                ServedModel model = loadModel(name, modelDir, factory, defaultMaxBatchSize, defaultMaxSequenceLength,
                        preparer);
                entries.put(name, new Entry(name, model, null));
                LOG.debug("Model '{}' ready in {} ms: inputs {}, outputs {}{}", name,
                        (System.nanoTime() - t0) / 1_000_000, model.session().inputs(), model.session().outputs(),
                        model.acceptsText() ? ", text input via tokenizer.json" : "");
            } catch (Exception | LinkageError e) {
                String reason = e.getMessage() == null ? e.toString() : e.getMessage();
                entries.put(name, new Entry(name, null, paths.redact(reason)));
                LOG.debug("Model '{}' failed to load and is not served: {}", name, reason, e);
            }
        }
        if (entries.isEmpty()) {
            LOG.warn("Model repository {} has no model directories", dir);
        }
        return new ModelRepository(dir, entries);
    }

    private static ServedModel loadModel(String name, Path modelDir, SessionFactory factory, int defaultBatch,
                                         int defaultSeq, ModelPreparer preparer) throws Exception {
        Path onnx = modelDir.resolve("model.onnx");
        if (!Files.isRegularFile(onnx)) {
            throw new IOException("no model.onnx in " + modelDir);
        }
        ModelConfig config = ModelConfig.read(modelDir.resolve("config.json"));
        config.dynamicBatching().check(config.maxBatchSize() > 0 ? config.maxBatchSize() : defaultBatch);
        byte[] bytes = Files.readAllBytes(onnx);
        ModelPreparer.Prepared prepared = preparer.prepare(name, config, bytes);
        ModelSession session;
        try {
            session = ModelSession.open(factory, prepared.model(), prepared.internalOutputs(),
                    prepared.plainModel());
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("ONNX Runtime cannot load model.onnx: " + e.getMessage(), e);
        }
        TextTokenizer tokenizer = null;
        try {
            Path tokenizerJson = modelDir.resolve("tokenizer.json");
            if (Files.isRegularFile(tokenizerJson)) {
                tokenizer = TextTokenizer.load(tokenizerJson);
            }
            Map<ServedModel.TokenField, String> tokenInputs =
                    tokenizer == null ? Map.of() : tokenInputs(name, session);
            return new ServedModel(name, config, session,
                    config.maxBatchSize() > 0 ? config.maxBatchSize() : defaultBatch,
                    config.maxSequenceLength() > 0 ? config.maxSequenceLength() : defaultSeq,
                    tokenizer, tokenInputs, TokenInputRules.read(OnnxModels.parse(bytes),
                            Set.copyOf(tokenInputs.values())));
        } catch (Exception | LinkageError e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            session.close();
            throw e;
        }
    }

    /** Matches the model's inputs to token fields by name; empty when some input is not a token field. */
    private static Map<ServedModel.TokenField, String> tokenInputs(String model, ModelSession session) {
        Map<ServedModel.TokenField, String> map = new EnumMap<>(ServedModel.TokenField.class);
        for (TensorSpec in : session.inputs()) {
            String n = in.name().toLowerCase(Locale.ROOT);
            ServedModel.TokenField field = n.contains("mask") ? ServedModel.TokenField.ATTENTION_MASK
                    : n.contains("type") ? ServedModel.TokenField.TYPE_IDS
                    : n.contains("ids") ? ServedModel.TokenField.IDS : null;
            if (field == null || in.datatype() != Datatype.INT64 || in.rank() != 2 || map.containsKey(field)) {
                LOG.warn("Model '{}' has a tokenizer.json but its input {} is not a token field "
                        + "(input_ids / attention_mask / token_type_ids, INT64 [batch, seq]): text input disabled",
                        model, in);
                return Map.of();
            }
            map.put(field, in.name());
        }
        if (!map.containsKey(ServedModel.TokenField.IDS)) {
            LOG.warn("Model '{}' has a tokenizer.json but no input_ids input: text input disabled", model);
            return Map.of();
        }
        return map;
    }

    /** The entry of this name, or null when the repository has no such model. */
    public Entry get(String name) {
        return entries.get(name);
    }

    /** The model file of a repository model, as read at load (the served session holds a tapped copy). */
    public Path modelFile(String name) {
        return dir.resolve(name).resolve("model.onnx");
    }

    /** All entries, in name order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** Whether at least one model is ready. */
    public boolean anyReady() {
        for (Entry e : entries.values()) {
            if (e.ready()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        for (Entry e : entries.values()) {
            if (e.model() != null) {
                try {
                    e.model().close();
                } catch (Exception ex) {
                    LOG.warn("Closing model '{}': {}", e.name(), ex.getMessage());
                }
            }
        }
    }
}
