/*
 * Evaluate the pipeline's configuration as Nextflow does, for tests/nextflow_config.py.
 *
 * Run by that module in a child JVM:  java -cp language-server-all.jar groovy.ui.GroovyMain
 * tests/nextflow_config.groovy < queries.json > answers.json
 *
 * Parsing is Nextflow's own: each config file goes through the config parser of the jar
 * (nextflow.config.parser.ConfigParserPluginFactory builds the config AST), its name checks
 * (ConfigResolveVisitor, ResolveIncludeVisitor) and ConfigToGroovyVisitor, which turns every
 * `a.b = x` into `assign(['a','b'], x)`, every `scope { }` into `block('scope', { })`, every
 * selector into `withLabel('l', { })` / `withName('n', { })` and every include into
 * `includeConfig('file')`, compiled as a script whose base class is NfConfigScript below,
 * the way Nextflow's ConfigCompiler (modules/nextflow/.../config/parser/v2/ConfigCompiler.java)
 * compiles it against its ConfigDsl. What those calls do is written here, after the
 * behaviour documented in Nextflow's config docs and read in its sources:
 *
 *  - v2 parser (ConfigParserV2 / ConfigDsl.groovy; the default from 26.04, opt-in earlier with
 *    NXF_SYNTAX_PARSER=v2): `profiles` blocks are collected and applied where the `profiles`
 *    block ends, in the order of `-profile`; a param given on the command line replaces the
 *    file's value where the file assigns it (converted to the type of the file's value from
 *    26.03, ConfigDsl.asDeclaredType), so later lines of the file see the CLI value.
 *  - v1 parser (ConfigParserV1, a ConfigSlurper; the default through 25.10): the selected
 *    profiles apply in the order they are defined in the file, and their settings are merged
 *    over the whole file's settings at the end of that file (ConfigParserV1.parse: the
 *    `overrides` object); CLI values are typed by CmdRun.parseParamValue (true/false, integers,
 *    decimals like 0.5 but not 1e-3) and win wherever params are read.
 *  - files: nextflow.config (its includeConfig files parsed in place, seeing the params set so
 *    far), then each `-c` file, each parsed on its own and deep-merged over the previous ones
 *    (ConfigBuilder.buildConfig0 / merge0); a `-c` file does not see nextflow.config's params;
 *    at the end the CLI params are merged over `params` (ConfigBuilder: mergeMaps).
 *  - process settings (ProcessConfigBuilder.applyConfig): the process's own directives, then
 *    every matching `withLabel:` (any of the process's labels fully matches the regex, `!`
 *    negates), then every matching `withName:` (the regex fully matches the process's simple
 *    name; Nextflow also tries the fully qualified name, e.g. KERAS_MOTIFS:TRAIN: not modelled), each
 *    overriding what came before, in the order the selectors appear in the merged config;
 *    then the generic `process.*` settings only where nothing set that directive (or it holds
 *    ProcessConfig.DEFAULT_CONFIG's value). `ext` entries merge key by key the same way.
 *  - task time (TaskConfig / LazyMap.resolveImpl): a closure is cloned with the task context
 *    as delegate, DELEGATE_FIRST, so `task.*`, `params` (the final params) and `workflow`
 *    resolve there; a GString is rendered; maps of named options (accelerator) resolve
 *    each entry. cpus, memory and time are capped by `process.resourceLimits`.
 *  - `workflow.containerEngine`: the one container engine enabled (docker, podman,
 *    singularity, apptainer), else null (WorkflowMetadata; the Batch executors run Docker
 *    themselves and enable no engine). More than one enabled is refused, as Nextflow does.
 *  - the image name as the engine pulls it (ContainerHandler): Docker/Podman prefix the
 *    engine's `registry` to a name with no registry host; Singularity/Apptainer keep an
 *    absolute path or a `scheme://` URL and otherwise pull `docker://` + that name.
 *
 * Units: MemoryUnit and Duration (nf-commons, not in the jar) are modelled by Memory and
 * Time below: `6.GB`, `4.h`, their products with numbers and comparison, rendered as
 * Nextflow renders them ('6 GB', '4h', '2d').
 */

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.util.regex.Pattern
import nextflow.config.control.ConfigResolveVisitor
import nextflow.config.control.ConfigToGroovyVisitor
import nextflow.config.control.ResolveIncludeVisitor
import nextflow.config.control.StringReaderSourceWithURI
import nextflow.config.parser.ConfigParserPluginFactory
import nextflow.script.control.GStringToStringVisitor
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.SourceUnit

// ---------------------------------------------------------------- units

/** A memory amount in bytes, like Nextflow's MemoryUnit. */
class Memory implements Comparable<Memory> {
    static final List<String> UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
    final long bytes

    Memory(Number bytes) { this.bytes = bytes as long }

    long toBytes() { bytes }
    long toKilo() { bytes >> 10 }
    long toMega() { bytes >> 20 }
    long toGiga() { bytes >> 30 }
    Memory multiply(Number factor) { new Memory((bytes * factor) as long) }
    Memory div(Number factor) { new Memory((bytes / factor) as long) }
    Memory plus(Memory other) { new Memory(bytes + other.bytes) }
    int compareTo(Memory other) { bytes <=> other.bytes }
    boolean equals(Object other) { other instanceof Memory && other.bytes == bytes }
    int hashCode() { bytes.hashCode() }

    String toString() {
        int unit = 0
        double value = bytes
        while( value >= 1024 && unit < UNITS.size() - 1 ) { value /= 1024; unit++ }
        def text = new java.text.DecimalFormat('0.#', java.text.DecimalFormatSymbols.getInstance(Locale.ROOT)).format(value)
        return "$text ${UNITS[unit]}"
    }
}

/** A duration in milliseconds, like Nextflow's Duration. */
class Time implements Comparable<Time> {
    final long millis

    Time(Number millis) { this.millis = millis as long }

    long toMillis() { millis }
    long toSeconds() { millis.intdiv(1000) }
    long toMinutes() { millis.intdiv(60_000) }
    long toHours() { millis.intdiv(3_600_000) }
    long toDays() { millis.intdiv(86_400_000) }
    Time multiply(Number factor) { new Time((millis * factor) as long) }
    Time plus(Time other) { new Time(millis + other.millis) }
    int compareTo(Time other) { millis <=> other.millis }
    boolean equals(Object other) { other instanceof Time && other.millis == millis }
    int hashCode() { millis.hashCode() }

    String toString() {
        def parts = []
        long rest = millis
        for( def unit : [['d', 86_400_000L], ['h', 3_600_000L], ['m', 60_000L], ['s', 1000L], ['ms', 1L]] ) {
            long count = rest.intdiv(unit[1] as long)
            rest -= count * (unit[1] as long)
            if( count ) parts << "${count}${unit[0]}"
        }
        return parts ? parts.join(' ') : '0ms'
    }
}

// ---------------------------------------------------------------- the config DSL

/** One parse of one config file: its settings (`target`) and how it was asked to parse. */
class ParseContext {
    String syntax                       // 'v1' or 'v2'
    Map cliParams                       // the CLI params, typed for this syntax
    List<String> profiles
    Map binding
    File file
    Map target = [params: [:]]
    Map overrides = [:]                 // v1: the selected profiles' settings, merged at the end
    Set<String> declaredProfiles = [] as LinkedHashSet

    static Map deepMerge(Map into, Map from) {
        from.each { key, value ->
            if( value instanceof Map && into[key] instanceof Map )
                deepMerge(into[key] as Map, value as Map)
            else
                into[key] = value instanceof Map ? deepMerge([:], value as Map) : value
        }
        return into
    }

    static Map navigate(Map root, List<String> names) {
        Map ctx = root
        for( String name : names ) {
            if( !(ctx[name] instanceof Map) ) ctx[name] = [:]
            ctx = ctx[name] as Map
        }
        return ctx
    }

    /** v2: a CLI value converted to the type of the value the file declares (ConfigDsl.asDeclaredType, 26.03+). */
    static Object asDeclaredType(Object value, Object declared) {
        if( !(value instanceof CharSequence) ) return value
        String text = value.toString()
        if( declared instanceof Boolean ) {
            if( text.equalsIgnoreCase('true') ) return true
            if( text.equalsIgnoreCase('false') ) return false
        }
        if( declared instanceof Number ) {
            if( text.isInteger() ) return text.toInteger()
            if( text.isLong() ) return text.toLong()
            if( text.isBigInteger() ) return text.toBigInteger()
            if( text.isFloat() ) return text.toFloat()
            if( text.isDouble() ) return text.toDouble()
            if( text.isBigDecimal() ) return text.toBigDecimal()
        }
        return value
    }

    void assign(Map root, List<String> names, Object value) {
        if( names.size() == 2 && names[0] == 'params' && cliParams.containsKey(names[1]) ) {
            def cli = cliParams[names[1]]
            value = syntax == 'v2' ? asDeclaredType(cli, value) : cli
        }
        navigate(root, names.init()).put(names.last(), value)
    }
}

/** The base class of a compiled config file: what Nextflow's ConfigDsl provides. */
abstract class NfConfigScript extends Script {
    ParseContext context

    def getProperty(String name) {
        if( name == 'params' ) return context.target.params
        if( context.binding.containsKey(name) ) return context.binding[name]
        return super.getProperty(name)
    }

    String env(String name) { System.getenv(name) }

    void assign(List<String> names, Object value) { context.assign(context.target, names, value) }

    void block(String name, Closure body) { new BlockDsl(context, context.target, [name]).run(body) }

    void includeConfig(String file) { includeInto([], file) }

    void includeInto(List<String> names, String file) {
        File path = new File(file).isAbsolute() ? new File(file) : new File(context.file.parentFile, file)
        if( !path.isFile() ) throw new FileNotFoundException("Config file does not exist: $path (included from ${context.file})")
        def included = ConfigEvaluator.parseFile(path, context.syntax, context.cliParams, context.profiles,
                                                 context.binding, context.target.params as Map)
        context.declaredProfiles.addAll(included.declaredProfiles)
        ParseContext.deepMerge(ParseContext.navigate(context.target, names), included.target)
    }
}

/** The delegate of a `scope { }` block: assignments and blocks nest under its scope. */
class BlockDsl {
    static final List<String> SELECTOR_SCOPES = ['process']
    ParseContext context
    Map root
    List<String> scope

    BlockDsl(ParseContext context, Map root, List<String> scope) {
        this.context = context; this.root = root; this.scope = scope
    }

    void run(Closure body) {
        def dsl = scope == ['profiles'] ? new ProfilesDsl(context, root) : this
        Closure copy = (Closure) body.clone()
        copy.resolveStrategy = Closure.DELEGATE_FIRST
        copy.delegate = dsl
        copy.call()
        if( dsl instanceof ProfilesDsl ) dsl.apply()
    }

    void assign(List<String> names, Object value) { context.assign(root, scope + names, value) }

    void block(String name, Closure body) { new BlockDsl(context, root, scope + [name]).run(body) }

    /** An include inside a scope merges the included settings under that scope. */
    void includeConfig(String file) { ConfigEvaluator.currentScript.includeInto(scope, file) }

    void id(String plugin) { ParseContext.navigate(root, ['plugins']).put(plugin, true) }

    private boolean selectorScope() { scope.last() in SELECTOR_SCOPES }

    void withLabel(String label, Closure body) {
        if( !selectorScope() ) throw new IllegalArgumentException("withLabel: is only allowed in the process scope (${scope.join('.')})")
        new BlockDsl(context, root, scope + ["withLabel:$label".toString()]).run(body)
    }

    void withName(String selector, Closure body) {
        if( !selectorScope() ) throw new IllegalArgumentException("withName: is only allowed in the process scope (${scope.join('.')})")
        new BlockDsl(context, root, scope + ["withName:$selector".toString()]).run(body)
    }
}

/** The `profiles { }` block: which profiles apply, in which order, per parser version. */
class ProfilesDsl extends BlockDsl {
    Map<String, Closure> blocks = [:]

    ProfilesDsl(ParseContext context, Map root) { super(context, root, []) }

    void assign(List<String> names, Object value) {
        throw new IllegalArgumentException("Only profile blocks are allowed in the `profiles` scope")
    }

    void block(String name, Closure body) {
        context.declaredProfiles << name
        if( context.syntax == 'v1' ) {
            // v1: a selected profile is evaluated where it is defined, into the overrides
            if( name in context.profiles ) new BlockDsl(context, context.overrides, []).run(body)
        }
        else
            blocks[name] = body
    }

    void apply() {
        if( context.syntax == 'v2' ) {
            for( String name : context.profiles )
                if( blocks[name] ) new BlockDsl(context, context.target, []).run(blocks[name])
        }
    }
}

// ---------------------------------------------------------------- parsing a file

class ConfigEvaluator {
    static NfConfigScript currentScript
    static GroovyClassLoader loader

    static ParseContext parseFile(File file, String syntax, Map cliParams, List<String> profiles, Map binding,
                                  Map configParams = [:]) {
        def context = new ParseContext(syntax: syntax, cliParams: cliParams, profiles: profiles, binding: binding, file: file)
        context.target.params.putAll(configParams)
        context.target.params.putAll(cliParams)
        Class cls = compile(file)
        NfConfigScript script = (NfConfigScript) cls.getDeclaredConstructor().newInstance()
        script.context = context
        def previous = currentScript
        currentScript = script
        try {
            script.run()
        }
        finally {
            currentScript = previous
        }
        if( syntax == 'v1' ) ParseContext.deepMerge(context.target, context.overrides)
        return context
    }

    static Map<String, Class> compiled = [:]

    /** The compiled class of a config file, compiled once per JVM for each text. */
    static Class compile(File file) {
        String key = file.absolutePath + '\u0000' + file.text
        if( !compiled.containsKey(key) ) compiled[key] = compile0(file)
        return compiled[key]
    }

    static Class compile0(File file) {
        def config = new CompilerConfiguration()
        config.scriptBaseClass = NfConfigScript.name
        config.pluginFactory = new ConfigParserPluginFactory()
        def unit = new CompilationUnit(config, null, loader)
        unit.addPhaseOperation({ SourceUnit source ->
            new ResolveIncludeVisitor(source).with { visitor ->
                visitor.visit()
                visitor.errors.each { source.errorCollector.addErrorAndContinue(it) }
            }
            new ConfigResolveVisitor(source, unit, []).visit()
            if( source.errorCollector.hasErrors() ) return
            new ConfigToGroovyVisitor(source).visit()
            new GStringToStringVisitor(source).visitClass(source.AST.classes[0])
        } as CompilationUnit.ISourceUnitOperation, Phases.CONVERSION)
        def text = file.text
        def name = '_nf_config_' + compiled.size()
        def source = new SourceUnit(name, new StringReaderSourceWithURI(text, file.toURI(), config), config, loader, unit.errorCollector)
        unit.addSource(source)
        def classes = []
        unit.setClassgenCallback({ writer, node -> classes << loader.defineClass(node.name, writer.toByteArray()) } as CompilationUnit.ClassgenCallback)
        try {
            unit.compile(Phases.CLASS_GENERATION)
        }
        catch( org.codehaus.groovy.control.CompilationFailedException e ) {
            throw new IllegalArgumentException("${file}: config does not compile: ${e.message}")
        }
        return classes.find { it.name == name } ?: classes[0]
    }
}

// ---------------------------------------------------------------- the task

/** What a process's task sees as `task`: its resolved directives, attempt and name. */
class TaskView {
    TaskResolver resolver

    // `task.process` is the name queried (Nextflow's is fully qualified, e.g. KERAS_MOTIFS:TRAIN)
    def getProperty(String name) {
        switch( name ) {
            case 'attempt': return resolver.attempt
            case 'process': case 'name': return resolver.process
            case 'exitStatus': return resolver.exitStatus
            case 'index': return 1
            case 'ext': return resolver.ext()
            default: return resolver.resolve(name)
        }
    }
}

class TaskResolver {
    static final Map DEFAULTS = [shell: ['/bin/bash', '-ue'], maxRetries: 1, maxErrors: -1, errorStrategy: 'terminate']
    static final List<String> CAPPED = ['cpus', 'memory', 'time']

    String process
    int attempt
    Integer exitStatus
    Map settings = [:]
    Map ext = [:]
    Map context
    Map<String, Object> cache = [:]
    Set<String> resolving = []

    Object evaluate(Object value) {
        if( value instanceof Closure ) {
            Closure copy = (Closure) value.clone()
            copy.resolveStrategy = Closure.DELEGATE_FIRST
            copy.delegate = context
            return evaluate(copy.call())
        }
        if( value instanceof GString ) return value.toString()
        return value
    }

    Object resolve(String name) {
        if( cache.containsKey(name) ) return cache[name]
        if( !(name in resolving) ) {
            resolving << name
            def value = settings[name]
            value = value instanceof Map ? value.collectEntries { k, v -> [k, evaluate(v)] } : evaluate(value)
            if( name in CAPPED && value != null ) value = cap(name, value)
            resolving.remove(name)
            cache[name] = value
            return value
        }
        throw new IllegalStateException("directive $name refers to itself")
    }

    Object cap(String name, Object value) {
        def limits = evaluate(settings.resourceLimits)
        if( !(limits instanceof Map) || limits[name] == null ) return value
        def limit = limits[name]
        return value > limit ? limit : value
    }

    Map ext() {
        return ext.collectEntries { k, v -> [k, evaluate(v)] }.withDefault { null }
    }
}

// ---------------------------------------------------------------- one query

class Query {
    static final List<String> ENGINES = ['docker', 'podman', 'singularity', 'apptainer']
    static final Pattern URL_PREFIX = ~/^[^\/:. ]+:\/\/(.*)/

    /** CmdRun.parseParamValue of the v1 era: how a CLI string is typed before the config sees it. */
    static Object parseParamValue(String text) {
        if( text == null ) return null
        if( text.equalsIgnoreCase('true') ) return true
        if( text.equalsIgnoreCase('false') ) return false
        if( text ==~ /-?\d+(\.\d+)?/ && text.isInteger() ) return text.toInteger()
        if( text ==~ /-?\d+(\.\d+)?/ && text.isLong() ) return text.toLong()
        if( text ==~ /-?\d+(\.\d+)?/ && text.isDouble() ) return text.toDouble()
        return text
    }

    static Map<String, Map> configs = [:]
    static Map<String, Closure> directives = [:]

    /** The merged config of a query, evaluated once per JVM for each (root, syntax, params, profiles, -c files). */
    static Map config(Map query) {
        String key = JsonOutput.toJson([query.root, query.syntax, query.params, query.profiles, query.configs])
        if( !configs.containsKey(key) ) configs[key] = config0(query)
        return configs[key]
    }

    /** A module's directive argument as a closure, compiled once per source text. */
    static Closure compileDirective(String source) {
        if( !directives.containsKey(source) )
            directives[source] = (Closure) new GroovyShell(ConfigEvaluator.loader).evaluate("return { -> ${source} }")
        return directives[source]
    }

    static Map config0(Map query) {
        File root = new File(query.root as String)
        String syntax = query.syntax ?: 'v2'
        if( !(syntax in ['v1', 'v2']) ) throw new IllegalArgumentException("syntax must be v1 or v2, not $syntax")
        Map cli = (query.params ?: [:]).collectEntries { k, v ->
            [k, syntax == 'v1' && v instanceof String ? parseParamValue(v as String) : v]
        }
        List<String> profiles = (query.profiles ?: []) as List<String>
        Map binding = [projectDir: root.toPath(), baseDir: root.toPath(), launchDir: root.toPath()]
        Map merged = [:]
        Set declared = [] as LinkedHashSet
        def files = [new File(root, 'nextflow.config')] + (query.configs ?: []).collect { new File(it as String) }
        for( File file : files ) {
            if( !file.isFile() ) throw new FileNotFoundException("config file not found: $file")
            def parsed = ConfigEvaluator.parseFile(file, syntax, cli, profiles, binding)
            declared.addAll(parsed.declaredProfiles)
            ParseContext.deepMerge(merged, parsed.target)
        }
        def unknown = profiles.findAll { !(it in declared) }
        if( unknown ) throw new IllegalArgumentException("Unknown configuration profile: ${unknown.join(', ')} (declared: ${declared.join(', ')})")
        // the CLI params over the config's (ConfigBuilder: mergeMaps)
        ParseContext.deepMerge(merged.params as Map, cli)
        return merged
    }

    static String engineOf(Map config) {
        def enabled = ENGINES.findAll { (config[it] instanceof Map) && config[it].enabled?.toString() == 'true' }
        if( enabled.size() > 1 ) throw new IllegalArgumentException("Cannot enable more than one container engine: ${enabled.join(', ')}")
        return enabled ? enabled[0] : null
    }

    static String pullName(String image, String engine, Map engineConfig, File root) {
        if( !image ) return null
        String registry = engineConfig?.registry
        Closure docker = { String name ->
            if( !registry ) return name
            int slash = name.indexOf('/')
            boolean absolute = slash != -1 && (name.substring(0, slash).contains('.') || name.substring(0, slash).contains(':'))
            return absolute ? name : (registry.endsWith('/') ? registry : registry + '/') + name
        }
        if( engine in ['singularity', 'apptainer'] ) {
            if( image.startsWith('/') || image ==~ URL_PREFIX ) return image
            if( new File(root, image).exists() ) return new File(root, image).path
            return 'docker://' + docker(image)
        }
        return docker(image)
    }

    static Map answer(Map query) {
        Map config = config(query)
        File root = new File(query.root as String)
        String process = query.process
        List<String> labels = (query.labels ?: []) as List<String>
        Map processScope = (config.process ?: [:]) as Map
        String engine = engineOf(config)
        Map engineConfig = engine ? (config[engine] as Map) : [:]

        def resolver = new TaskResolver(process: process, attempt: (query.attempt ?: 1) as int,
                                        exitStatus: query.exit_status as Integer)
        Map params = config.params as Map
        resolver.context = [params: params, workflow: [containerEngine: engine, projectDir: root.toPath()],
                            projectDir: root.toPath(), task: new TaskView(resolver: resolver)]

        // the process's own directives (its module), label excepted: the labels are given
        for( Map directive : (query.directives ?: []) as List<Map> ) {
            if( directive.name in ['label', 'tag'] ) continue
            resolver.settings[directive.name] = compileDirective(directive.source as String)
        }
        Closure apply = { Map settings ->
            settings.each { key, value ->
                if( key.startsWith('withLabel:') || key.startsWith('withName:') || key == 'params' ) return
                if( key == 'ext' ) resolver.ext.putAll(value as Map)
                else resolver.settings[key] = value
            }
        }
        processScope.each { String key, value ->
            if( !key.startsWith('withLabel:') ) return
            String pattern = key.substring('withLabel:'.length()).trim()
            boolean negated = pattern.startsWith('!')
            if( negated ) pattern = pattern.substring(1).trim()
            boolean match = (labels ?: ['']).any { it ==~ pattern }
            if( match != negated ) apply(value as Map)
        }
        processScope.each { String key, value ->
            if( !key.startsWith('withName:') ) return
            String pattern = key.substring('withName:'.length()).trim()
            boolean negated = pattern.startsWith('!')
            if( negated ) pattern = pattern.substring(1).trim()
            if( (process ==~ pattern) != negated ) apply(value as Map)
        }
        processScope.each { String key, value ->
            if( key.startsWith('withLabel:') || key.startsWith('withName:') || key == 'params' ) return
            if( key == 'ext' ) { (value as Map).each { k, v -> if( !resolver.ext.containsKey(k) ) resolver.ext[k] = v } }
            else if( !resolver.settings.containsKey(key) ) resolver.settings[key] = value
        }
        TaskResolver.DEFAULTS.each { k, v -> if( !resolver.settings.containsKey(k) ) resolver.settings[k] = v }

        Map out = [:]
        for( String key : resolver.settings.keySet() ) {
            if( key in ['publishDir'] ) continue
            out[key] = resolver.resolve(key)
        }
        out.ext = resolver.ext()
        String image = out.container
        out.container = pullName(image, engine ?: (out.executor in ['awsbatch', 'google-batch'] ? 'docker' : null),
                                 engineConfig, root)
        out.engine = engine
        // the Batch executors run the container themselves and apply only containerOptions
        // (nf-amazon AwsBatchTaskHandler, nf-google GoogleBatchTaskHandler)
        boolean batch = out.executor in ['awsbatch', 'google-batch']
        out.runOptions = engine && !batch ? engineConfig.runOptions : null
        out.engineOptions = engine ? engineConfig.findAll { k, v -> k != 'enabled' } : [:]
        out.env = (config.env ?: [:])
        out.executor = out.executor ?: 'local'
        out.executorScope = config.executor ?: [:]
        out.params = params
        out.plugins = ((config.plugins ?: [:]) as Map).keySet() as List
        out.reports = ['timeline', 'report', 'trace', 'dag'].collectEntries { [it, (config[it] as Map)?.file] }
        for( String scope : ['aws', 'google'] ) out[scope] = config[scope] ?: [:]
        out.engines = ENGINES.collectEntries { [it, config[it] ?: [:]] }
        return out
    }
}

// ---------------------------------------------------------------- JSON in, JSON out

Object jsonable(Object value) {
    if( value == null || value instanceof Boolean || value instanceof String ) return value
    if( value instanceof Number ) return value instanceof BigDecimal ? value.toDouble() : value
    if( value instanceof Memory || value instanceof Time || value instanceof GString || value instanceof java.nio.file.Path ) return value.toString()
    if( value instanceof Map ) return value.collectEntries { k, v -> [k.toString(), jsonable(v)] }
    if( value instanceof Collection || value.getClass().isArray() ) return value.collect { jsonable(it) }
    if( value instanceof Closure ) throw new IllegalStateException("unresolved closure")
    return value.toString()
}

ExpandoMetaClass.enableGlobally()
[B: 1L, KB: 1024L, MB: 1024L ** 2, GB: 1024L ** 3, TB: 1024L ** 4].each { unit, factor ->
    Number.metaClass."get$unit" = { -> new Memory(delegate * factor) }
    Number.metaClass."get${unit.toLowerCase()}" = { -> new Memory(delegate * factor) }
}
[ms: 1L, s: 1000L, m: 60_000L, min: 60_000L, h: 3_600_000L, d: 86_400_000L].each { unit, factor ->
    Number.metaClass."get$unit" = { -> new Time(delegate * factor) }
}
ConfigEvaluator.loader = new GroovyClassLoader(this.class.classLoader)

def queries = new JsonSlurper().parse(System.in)
def answers = queries.collect { Map query ->
    try {
        [ok: true, settings: jsonable(Query.answer(query))]
    }
    catch( Throwable e ) {
        [ok: false, error: "${e.getClass().simpleName}: ${e.message}".toString()]
    }
}
System.out.print(JsonOutput.toJson(answers))
