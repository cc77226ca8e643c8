package dev.strata.kafka.broker;

import dev.strata.api.StreamLabels;
import dev.strata.api.StreamOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.kafka.common.errors.InvalidTopicException;

/**
 * Which tenant a topic belongs to: an ordered list of rules, the first that matches the topic's name
 * wins; no match (or no rules, the default) means no tenant. Immutable.
 *
 * <p>Rule syntax (one rule per string, as given to {@link #parse}):
 * <ul>
 *   <li>{@code prefix:<prefix>=<tenant>}: topics whose name starts with {@code <prefix>} belong to
 *       {@code <tenant>} (e.g. {@code prefix:acme.=acme});</li>
 *   <li>{@code regex:<pattern>}: topics whose whole name matches {@code <pattern>} belong to the
 *       tenant its first capture group captured (e.g. {@code regex:([a-z0-9-]+)\..*} maps
 *       {@code acme.orders} to {@code acme}); an empty capture does not match.</li>
 * </ul>
 * A tenant named by a prefix rule is checked when the rule is parsed. A tenant captured by a regex
 * rule is checked when a topic is created: a capture that is not a valid tenant name
 * ({@link StreamLabels#checkTenant}: 1-64 characters of {@code [A-Za-z0-9._-]}) refuses the topic
 * (INVALID_TOPIC_EXCEPTION) rather than create it without a tenant, which would escape the tenant's
 * quotas and encryption.
 *
 * <p>The labels go on every stream of a new topic's partitions ({@link #streamOptions}); the broker's
 * own streams (catalog, committed offsets) have none. Labels are set when a stream is created, so a
 * rule added later does not change the streams of existing topics.
 */
public final class TenantRules {

    /** Tag on each partition stream: the topic's name. */
    public static final String TOPIC_TAG = "kafka.topic";
    /** Tag on each partition stream: the partition's index. */
    public static final String PARTITION_TAG = "kafka.partition";

    private static final TenantRules NONE = new TenantRules(List.of(), List.of());

    private sealed interface Rule permits Prefix, Regex {
        /** The tenant this rule gives {@code topic}, or null if it does not match. */
        String tenantOf(String topic);
    }

    private record Prefix(String prefix, String tenant) implements Rule {
        @Override
        public String tenantOf(String topic) {
            return topic.startsWith(prefix) ? tenant : null;
        }
    }

    private record Regex(Pattern pattern) implements Rule {
        @Override
        public String tenantOf(String topic) {
            Matcher m = pattern.matcher(topic);
            if (!m.matches()) {
                return null;
            }
            String tenant = m.group(1);
            return tenant == null || tenant.isEmpty() ? null : tenant;
        }
    }

    private final List<Rule> rules;
    private final List<String> specs;

    private TenantRules(List<Rule> rules, List<String> specs) {
        this.rules = rules;
        this.specs = specs;
    }

    /** No rules: no topic has a tenant. */
    public static TenantRules none() {
        return NONE;
    }

    /**
     * Parses {@code specs}, in order of precedence.
     *
     * @throws IllegalArgumentException naming the rule that does not parse (unknown kind, no
     *     {@code =}, an empty prefix, an invalid tenant, a pattern that does not compile or has no
     *     capture group)
     */
    public static TenantRules parse(List<String> specs) {
        List<Rule> rules = new ArrayList<>();
        for (String spec : specs) {
            rules.add(parseOne(spec));
        }
        return rules.isEmpty() ? NONE : new TenantRules(List.copyOf(rules), List.copyOf(specs));
    }

    private static Rule parseOne(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("tenant rule must not be null");
        }
        if (spec.startsWith("prefix:")) {
            String body = spec.substring("prefix:".length());
            int eq = body.lastIndexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("tenant rule must be prefix:<prefix>=<tenant> with a non-empty prefix, got '"
                        + spec + "'");
            }
            String tenant = body.substring(eq + 1);
            try {
                StreamLabels.checkTenant(tenant);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tenant rule '" + spec + "': " + e.getMessage(), e);
            }
            return new Prefix(body.substring(0, eq), tenant);
        }
        if (spec.startsWith("regex:")) {
            Pattern pattern;
            try {
                pattern = Pattern.compile(spec.substring("regex:".length()));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("tenant rule '" + spec + "': the pattern does not compile: "
                        + e.getDescription(), e);
            }
            if (pattern.matcher("").groupCount() < 1) {
                throw new IllegalArgumentException("tenant rule '" + spec + "': the pattern needs a capture group (the tenant)");
            }
            return new Regex(pattern);
        }
        throw new IllegalArgumentException("tenant rule must start with prefix: or regex:, got '" + spec + "'");
    }

    /** Whether there are no rules. */
    public boolean isEmpty() {
        return rules.isEmpty();
    }

    /**
     * The tenant of {@code topic}: that of the first rule that matches.
     *
     * @throws InvalidTopicException if a regex rule captured a name that is not a valid tenant
     */
    public Optional<String> tenantOf(String topic) {
        for (int i = 0; i < rules.size(); i++) {
            String tenant = rules.get(i).tenantOf(topic);
            if (tenant != null) {
                try {
                    return Optional.of(StreamLabels.checkTenant(tenant));
                } catch (IllegalArgumentException e) {
                    throw new InvalidTopicException("topic " + topic + " maps to no valid tenant by rule '" + specs.get(i)
                            + "': " + e.getMessage());
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The options of every stream of partition {@code partition} of a new topic {@code topic}:
     * {@code epoch}, the topic's tenant if a rule gives one, and the tags {@value #TOPIC_TAG} and
     * {@value #PARTITION_TAG}.
     *
     * @throws InvalidTopicException as {@link #tenantOf}
     */
    StreamOptions streamOptions(String topic, int partition, long epoch) {
        StreamOptions options = StreamOptions.defaults().withEpoch(epoch)
                .withTag(TOPIC_TAG, topic)
                .withTag(PARTITION_TAG, Integer.toString(partition));
        Optional<String> tenant = tenantOf(topic);
        return tenant.isPresent() ? options.withTenant(tenant.get()) : options;
    }

    @Override
    public String toString() {
        return specs.toString();
    }
}
