package dev.vigil.tests.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Turns a CRD's {@code openAPIV3Schema} into a JSON Schema (draft 4) that rejects what the Kubernetes API server
 * would silently drop. The API server prunes every field its structural schema does not name, unless
 * {@code x-kubernetes-preserve-unknown-fields} is set: a plain validator accepts such a misspelt field, so every
 * object schema that neither preserves unknown fields nor declares {@code additionalProperties} gets
 * {@code additionalProperties: false}. The Kubernetes extensions become plain JSON Schema:
 * {@code x-kubernetes-int-or-string} an integer-or-string {@code anyOf}, {@code nullable} a {@code "null"} type,
 * {@code x-kubernetes-embedded-resource} the apiVersion/kind/metadata it implies. The root {@code metadata}, which
 * the API server checks as ObjectMeta rather than by the CRD, gets the ObjectMeta fields a manifest uses.
 */
final class StructuralSchema {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final String DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    private StructuralSchema() {
    }

    /**
     * The strict JSON Schema of a CRD version's {@code openAPIV3Schema} (which is left unchanged).
     *
     * @param pruning false for the schema as a plain validator reads it (only the extensions translated), to show
     *                what the pruning emulation adds
     */
    static ObjectNode of(JsonNode openApiV3Schema, boolean pruning) {
        ObjectNode root = openApiV3Schema.deepCopy();
        convert(root, pruning);
        ObjectNode properties = (ObjectNode) root.get("properties");
        properties.set("metadata", objectMeta(pruning));
        root.put("$schema", "http://json-schema.org/draft-04/schema#");
        return root;
    }

    private static void convert(ObjectNode schema, boolean pruning) {
        if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
            schema.remove("type");
            if (!schema.has("anyOf")) {
                schema.set("anyOf", JSON.arrayNode().add(type("integer")).add(type("string")));
            }
        }
        if (schema.path("nullable").asBoolean(false) && schema.has("type")) {
            schema.set("type", JSON.arrayNode().add(schema.get("type").asText()).add("null"));
        }
        boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false);
        boolean object = "object".equals(schema.path("type").asText()) || schema.has("properties");
        if (schema.path("x-kubernetes-embedded-resource").asBoolean(false)) {
            ObjectNode properties = schema.has("properties") ? (ObjectNode) schema.get("properties") : schema.putObject("properties");
            properties.putIfAbsent("apiVersion", type("string"));
            properties.putIfAbsent("kind", type("string"));
            properties.putIfAbsent("metadata", objectMeta(pruning));
        }
        if (pruning && object && !preserve && !schema.has("additionalProperties")) {
            schema.put("additionalProperties", false);
        }
        // Recurse into the sub-schemas (not into "properties" itself, a map of them).
        JsonNode properties = schema.get("properties");
        if (properties != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
                convert((ObjectNode) it.next().getValue(), pruning);
            }
        }
        for (String key : List.of("items", "additionalProperties")) {
            if (schema.get(key) instanceof ObjectNode sub) {
                convert(sub, pruning);
            }
        }
        // Value validations only restrict values the structural part declares: they prune nothing.
        if (schema.get("not") instanceof ObjectNode sub) {
            convert(sub, false);
        }
        for (String key : List.of("allOf", "anyOf", "oneOf")) {
            if (schema.get(key) instanceof ArrayNode subs) {
                for (JsonNode sub : subs) {
                    convert((ObjectNode) sub, false);
                }
            }
        }
        List<String> extensions = new ArrayList<>();
        schema.fieldNames().forEachRemaining(name -> {
            if (name.startsWith("x-kubernetes-") || name.equals("nullable")) {
                extensions.add(name);
            }
        });
        schema.remove(extensions);
    }

    /** The ObjectMeta fields a manifest sets (the server fills the others). */
    private static ObjectNode objectMeta(boolean pruning) {
        ObjectNode meta = type("object");
        ObjectNode properties = meta.putObject("properties");
        ObjectNode name = type("string").put("maxLength", 253).put("pattern", DNS_SUBDOMAIN);
        properties.set("name", name);
        properties.set("generateName", type("string"));
        properties.set("namespace", type("string").put("maxLength", 63).put("pattern", DNS_SUBDOMAIN));
        properties.set("labels", stringMap());
        properties.set("annotations", stringMap());
        ObjectNode finalizers = type("array");
        finalizers.set("items", type("string"));
        properties.set("finalizers", finalizers);
        if (pruning) {
            meta.put("additionalProperties", false);
        }
        return meta;
    }

    private static ObjectNode stringMap() {
        ObjectNode map = type("object");
        map.set("additionalProperties", type("string"));
        return map;
    }

    private static ObjectNode type(String type) {
        return JSON.objectNode().put("type", type);
    }
}
