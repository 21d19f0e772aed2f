/*
 * A Nextflow process's declarations and script, evaluated by Groovy as Nextflow evaluates them.
 *
 * tests/nextflow_render.py evaluates this file once in a GroovyShell (the Groovy runtime inside
 * Nextflow's language-server jar); its value is a map of two closures that take and return JSON:
 *
 *   declarations(text): the items of an `input:` or `output:` section, e.g.
 *       [[kind: 'tuple', items: [[kind: 'val', name: 'meta'], [kind: 'path', name: 'model']]],
 *        [kind: 'path', name: 'parts', options: [stageAs: 'part?/*']]]
 *   render(request): a task's `.command.sh` and its output patterns. The request holds the
 *       `script:` body, the `output:` section and the binding: `task` (a map) and each input by
 *       name, as {val: value}, {path: 'staged/name'} or {paths: ['staged/1', ...]}.
 *
 * Rendering follows Nextflow (TaskRun.resolve, TaskProcessor.normalizeScript): the body's
 * statements run with the task's variables bound (a variable assigned without `def`, such as
 * SIMULATE's `prefix`, stays bound for the output declarations), the value of its last
 * statement is the script, which loses its common indentation (stripIndent(true)) and its
 * surrounding blank space, and starts with the shell's shebang line. A path input is bound to
 * a relative Path named as staged (a Path's toString); several to a blank-separated list.
 */

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import java.nio.file.Path

/** A name in a declaration (`val(meta)`, `emit: run`), where Nextflow reads names, not values. */
class DeclaredName {
    final String name

    DeclaredName(String name) { this.name = name }

    String toString() { name }
}

/** One `val(...)`, `path(...)` or `tuple ...` of a declaration. */
class Declared {
    final Map record

    Declared(Map record) { this.record = record }
}

/** Variables of a declaration: the task's where bound, any other name read as itself. */
class DeclarationBinding extends Binding {
    DeclarationBinding(Map variables) { super(new LinkedHashMap(variables)) }

    Object getVariable(String name) {
        hasVariable(name) ? super.getVariable(name) : new DeclaredName(name)
    }
}

/** Several staged files: their names joined by blanks in a script, as Nextflow's BlankSeparatedList. */
class BlankSeparatedList extends ArrayList {
    BlankSeparatedList(Collection items) { super(items) }

    String toString() { join(' ') }
}

/** JSON-ready form of a declaration argument: a name, a pattern's text, or a plain value. */
def plain
plain = { value ->
    if (value instanceof DeclaredName) return [name: value.name]
    if (value instanceof CharSequence) return [value: value.toString()]
    if (value instanceof Map) return [value: value.collectEntries { k, v -> [k.toString(), plain(v).values().first()] }]
    return [value: value]
}

/** `val(x)`, `path(x, stageAs: ...)` and the like: its kind, its target and its options. */
def item = { String kind ->
    return { Object[] args ->
        def options = args.size() > 1 && args[0] instanceof Map ? args[0] : [:]
        def targets = args.size() > 1 && args[0] instanceof Map ? args.drop(1) : args.toList()
        if (targets.size() != 1) {
            throw new IllegalArgumentException("${kind}(...) takes one name or pattern, got ${targets.size()}")
        }
        def record = [kind: kind] + plain(targets[0])
        if (options) record.options = options.collectEntries { k, v -> [k.toString(), v.toString()] }
        new Declared(record)
    }
}

def tuple = { Object[] args ->
    def options = args.size() > 0 && args[0] instanceof Map ? args[0] : [:]
    def items = args.findAll { arg -> arg instanceof Declared }
    if (items.size() + (options ? 1 : 0) != args.size()) {
        throw new IllegalArgumentException('tuple takes only val(...), path(...) and the like')
    }
    def record = [kind: 'tuple', items: items*.record]
    if (options) record.options = options.collectEntries { k, v -> [k.toString(), v.toString()] }
    new Declared(record)
}

/** The items a section declares, evaluated in a binding of `variables` (its statements' values). */
def declare = { String text, Map variables ->
    def binding = new DeclarationBinding(variables)
    def collected = []
    def record = { Object declared ->
        if (!(declared instanceof Declared)) {
            throw new IllegalArgumentException("not a declaration: ${declared}")
        }
        collected << declared.record
        declared
    }
    ['val', 'path', 'file', 'env', 'stdin', 'stdout', 'each', 'eval'].each { kind ->
        def make = item(kind)
        binding.setVariable(kind, { Object[] args -> record(make(*args)) })
    }
    binding.setVariable('tuple', { Object[] args ->
        def made = tuple(*args)
        // The items of a tuple were recorded on their own as they were made: keep the tuple only.
        made.record.items.each { inner -> collected.removeAll { it.is(inner) } }
        record(made)
    })
    new GroovyShell(binding).evaluate(text)
    collected
}

/** What a script's variable holds for an input: its value, or the Path(s) staged for it. */
def bound = { Map input ->
    if (input.containsKey('val')) return input.val
    if (input.containsKey('path')) return Path.of(input.path)
    if (input.containsKey('paths')) return new BlankSeparatedList(input.paths.collect { name -> Path.of(name) })
    throw new IllegalArgumentException("input binding must be {val}, {path} or {paths}: ${input}")
}

def render = { Map request ->
    def binding = new Binding()
    binding.setVariable('task', request.task)
    request.inputs.each { name, input -> binding.setVariable(name, bound(input)) }
    def value = new GroovyShell(binding).evaluate(request.script)
    if (value == null) {
        throw new IllegalArgumentException('the script body has no value (its last statement is not a string)')
    }
    def script = value.toString().stripIndent(true).trim()
    def shell = request.shell instanceof List ? request.shell.join(' ') : request.shell.toString()
    if (!script.startsWith('#!')) {
        script = (shell.startsWith('/') ? "#!${shell}" : "#!/usr/bin/env ${shell}") + '\n' + script
    }
    [script: script + '\n', outputs: declare(request.outputs, binding.variables)]
}

def slurper = new JsonSlurper()
return [
    declarations: { String text -> JsonOutput.toJson(declare(text, [:])) },
    render      : { String request -> JsonOutput.toJson(render(slurper.parseText(request) as Map)) },
]
