/**
 * The text of the shell hooks `sesame hook` prints (docs/shells.md). Pure: takes the
 * command that runs sesame and returns code.
 *
 * Safety rules every snippet keeps:
 * - no secret value is ever part of the text: values arrive at load time from
 *   `sesame env --format shell|fish` (whose encoders are exact, envfmt.ts) and are eval'd
 *   or sourced as that output; the only interpolated strings are the sesame command's own
 *   paths, quoted here for the target shell;
 * - sesame is called with SESAME_NO_PROMPT=1 and stdin from /dev/null, so a locked vault
 *   gives one line on stderr (from the exit code) instead of a prompt that hangs a `cd`;
 * - `sesame_load` first asks `sesame hook keys` for the names it will set, records each
 *   one's previous state (set or not, exported or not, and its value), then loads exactly those names
 *   (`env --only`). `sesame_unload` restores each name whose value is still the loaded
 *   one and leaves alone any the user changed by hand since.
 * - internal names start with `__sesame_`; key names are re-checked against
 *   [A-Za-z_][A-Za-z0-9_]* before they are used in an eval'd assignment.
 */

/** `s` single-quoted for bash/zsh/sh: nothing inside '…' is special; ' is written '\''. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `s` single-quoted for fish: inside '…' only \\ and \' are escapes. */
export function fishQuote(s: string): string {
  return `'${s.replace(/[\\']/g, '\\$&')}'`;
}

/** The one-line reasons, by sesame's exit codes (docs/cli.md). */
const WHY: Array<[number, string]> = [
  [3, 'the vault is locked (run `sesame unlock` to start an agent; the hook never prompts)'],
  [4, 'the project or a key was not found (see `sesame projects list`)'],
  [5, 'there is no vault (run `sesame init`)'],
  [8, 'denied'],
];

function shWhy(): string {
  const cases = WHY.map(([c, m]) => `    ${c}) __sesame_say "$2: ${m.replace(/`/g, '\\`')}" ;;`).join('\n');
  return `__sesame_why() {
  case "$1" in
${cases}
    *) __sesame_say "$2 (exit $1; run \\\`sesame env\\\` to see why)" ;;
  esac
}`;
}

/** bash and zsh: one text (both have local, here-strings and $'\\n'). */
export function posixHook(shell: 'bash' | 'zsh', cmd: string[], auto: boolean): string {
  const run = cmd.map(shQuote).join(' ');
  const lines = [
    `# sesame shell integration for ${shell}, printed by \`sesame hook ${shell}${auto ? ' --auto' : ''}\`.`,
    '# Defines sesame_load [PROJECT] and sesame_unload. No secret is in this text: values come',
    '# from `sesame env --format shell` when you load. See docs/shells.md.',
    `__sesame_cli() { SESAME_NO_PROMPT=1 ${run} "$@" </dev/null; }`,
    `__sesame_say() { printf 'sesame: %s\\n' "$*" >&2; }`,
    shWhy(),
    shell === 'zsh'
      ? `__sesame_exported() { eval "[[ \\\${(t)$1} == *export* ]]"; }\n__sesame_unexport() { typeset -g +x "$1"; }`
      : `__sesame_exported() { local __sesame_d; __sesame_d="$(declare -p "$1" 2>/dev/null)"; __sesame_d="\${__sesame_d#declare -}"; case "\${__sesame_d%% *}" in *x*) return 0 ;; esac; return 1; }\n__sesame_unexport() { export -n "$1"; }`,
    `__sesame_ok_name() { case "$1" in ''|[0-9]*|*[!A-Za-z0-9_]*|__sesame*) return 1 ;; esac; return 0; }`,
    `sesame_load() {
  [ -n "\${__sesame_loaded-}" ] && sesame_unload
  local __sesame_pa= __sesame_names __sesame_out __sesame_n __sesame_only= __sesame_list=
  [ $# -gt 0 ] && __sesame_pa="--project=$1"
  __sesame_names="$(__sesame_cli \${__sesame_pa:+"$__sesame_pa"} hook keys 2>/dev/null)" || { __sesame_why $? 'nothing loaded'; return 1; }
  while IFS= read -r __sesame_n; do
    __sesame_ok_name "$__sesame_n" || continue
    __sesame_only="$__sesame_only\${__sesame_only:+,}$__sesame_n"
    __sesame_list="$__sesame_list$__sesame_n"$'\\n'
  done <<<"$__sesame_names"
  [ -n "$__sesame_only" ] || { __sesame_say 'nothing to load (no keys in the project)'; return 0; }
  __sesame_out="$(__sesame_cli \${__sesame_pa:+"$__sesame_pa"} env --format shell --only "$__sesame_only" 2>/dev/null)" || { __sesame_why $? 'nothing loaded'; return 1; }
  while IFS= read -r __sesame_n; do
    [ -n "$__sesame_n" ] || continue
    if eval "[ -n \\"\\\${$__sesame_n+x}\\" ]"; then
      eval "__sesame_old_$__sesame_n=\\"\\\${$__sesame_n}\\""
      if __sesame_exported "$__sesame_n"; then eval "__sesame_was_$__sesame_n=x"; else eval "__sesame_was_$__sesame_n=s"; fi
    fi
  done <<<"$__sesame_list"
  __sesame_loaded="$__sesame_list"
  eval "$__sesame_out"
  unset __sesame_out
  while IFS= read -r __sesame_n; do
    [ -n "$__sesame_n" ] && eval "__sesame_new_$__sesame_n=\\"\\\${$__sesame_n-}\\""
  done <<<"$__sesame_loaded"
  return 0
}`,
    `sesame_unload() {
  local __sesame_n
  [ -n "\${__sesame_loaded-}" ] || return 0
  while IFS= read -r __sesame_n; do
    __sesame_ok_name "$__sesame_n" || continue
    if eval "[ -n \\"\\\${$__sesame_n+x}\\" ] && [ \\"\\\${$__sesame_n}\\" = \\"\\\${__sesame_new_$__sesame_n-}\\" ]"; then
      if eval "[ -n \\"\\\${__sesame_was_$__sesame_n-}\\" ]"; then
        eval "export $__sesame_n=\\"\\\${__sesame_old_$__sesame_n}\\""
        eval "[ \\"\\\${__sesame_was_$__sesame_n}\\" = s ]" && __sesame_unexport "$__sesame_n"
      else
        unset "$__sesame_n"
      fi
    else
      __sesame_say "left $__sesame_n alone: it was changed by hand after loading"
    fi
    unset "__sesame_old_$__sesame_n" "__sesame_new_$__sesame_n" "__sesame_was_$__sesame_n"
  done <<<"$__sesame_loaded"
  __sesame_loaded=
  return 0
}`,
  ];
  if (auto) lines.push(...posixAuto(shell));
  return `${lines.join('\n')}\n`;
}

/** --auto for bash/zsh: on a directory change, load the nearest .sesame.toml's project; unload on leaving. */
function posixAuto(shell: 'bash' | 'zsh'): string[] {
  const register =
    shell === 'zsh'
      ? `autoload -Uz add-zsh-hook && add-zsh-hook chpwd __sesame_auto`
      : `case ";\${PROMPT_COMMAND-};" in *';__sesame_auto;'*) ;; *) PROMPT_COMMAND="__sesame_auto\${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;; esac`;
  return [
    // The same walk as sesame's (project-file.ts): up from $PWD, stopping at $HOME or /.
    `__sesame_find() {
  local d="$PWD"
  __sesame_found=
  while :; do
    if [ -f "$d/.sesame.toml" ]; then __sesame_found="$d/.sesame.toml"; return 0; fi
    if [ "$d" = "\${HOME-}" ] || [ "$d" = / ] || [ -z "$d" ]; then return 1; fi
    d="\${d%/*}"; [ -n "$d" ] || d=/
  done
}`,
    `__sesame_auto() {
  [ "$PWD" = "\${__sesame_auto_pwd-}" ] && return 0
  __sesame_auto_pwd="$PWD"
  __sesame_find
  [ "$__sesame_found" = "\${__sesame_auto_file-}" ] && return 0
  [ -n "\${__sesame_auto_file-}" ] && sesame_unload
  __sesame_auto_file="$__sesame_found"
  [ -n "$__sesame_found" ] && sesame_load
  return 0
}`,
    register,
    '__sesame_auto',
  ];
}

/** fish (3.1 or later: `string collect`). */
export function fishHook(cmd: string[], auto: boolean): string {
  const run = cmd.map(fishQuote).join(' ');
  const cases = WHY.map(([c, m]) => `        case ${c}\n            __sesame_say "$argv[2]: ${m.replace(/[\\"$]/g, '\\$&')}"`).join('\n');
  const lines = [
    `# sesame shell integration for fish, printed by \`sesame hook fish${auto ? ' --auto' : ''}\`.`,
    '# Defines sesame_load [PROJECT] and sesame_unload. No secret is in this text: values come',
    '# from `sesame env --format fish` when you load. See docs/shells.md.',
    `function __sesame_cli; env SESAME_NO_PROMPT=1 ${run} $argv </dev/null; end`,
    `function __sesame_say; printf 'sesame: %s\\n' "$argv" >&2; end`,
    `function __sesame_why
    switch $argv[1]
${cases}
        case '*'
            __sesame_say "$argv[2] (exit $argv[1]; run \\\`sesame env\\\` to see why)"
    end
end`,
    `function sesame_load --description 'load a sesame project into the environment'
    set -q __sesame_loaded[1]; and sesame_unload
    set -l pa
    set -q argv[1]; and set pa --project=$argv[1]
    set -l names (__sesame_cli $pa hook keys 2>/dev/null)
    or begin; __sesame_why $status 'nothing loaded'; return 1; end
    if not set -q names[1]
        __sesame_say 'nothing to load (no keys in the project)'
        return 0
    end
    set -g __sesame_rc 0
    set -l out (begin; __sesame_cli $pa env --format fish --only (string join , $names) 2>/dev/null; set -g __sesame_rc $status; end | string collect)
    if test $__sesame_rc -ne 0
        __sesame_why $__sesame_rc 'nothing loaded'
        return 1
    end
    set -g __sesame_loaded
    for n in $names
        string match -qr '^[A-Za-z_][A-Za-z0-9_]*$' -- $n; or continue
        string match -q '__sesame*' -- $n; and continue
        if set -q $n
            set -g __sesame_old_$n $$n
            set -qx $n; and set -g __sesame_was_$n x; or set -g __sesame_was_$n s
        end
        set -ga __sesame_loaded $n
    end
    printf '%s\\n' $out | source
    set -e out
    for n in $__sesame_loaded
        set -q $n; and set -g __sesame_new_$n $$n
    end
end`,
    `function sesame_unload --description 'unset what sesame_load set, restoring earlier values'
    for n in $__sesame_loaded
        set -l nv __sesame_new_$n
        set -l ov __sesame_old_$n
        set -l wv __sesame_was_$n
        if set -q $n; and set -q $nv; and test "$$n" = "$$nv"
            if set -q $wv; and test "$$wv" = s
                set -gu $n $$ov
            else if set -q $wv
                set -gx $n $$ov
            else
                set -e -g $n
            end
        else if set -q $n
            __sesame_say "left $n alone: it was changed by hand after loading"
        end
        set -e -g $nv $ov $wv
    end
    set -e -g __sesame_loaded
end`,
  ];
  if (auto) {
    lines.push(
      `function __sesame_find
    set -l d $PWD
    set -g __sesame_found
    while true
        if test -f "$d/.sesame.toml"
            set -g __sesame_found "$d/.sesame.toml"
            return 0
        end
        if test "$d" = "$HOME" -o "$d" = / -o -z "$d"
            return 1
        end
        set d (string replace -r '/[^/]*$' '' -- $d)
        test -n "$d"; or set d /
    end
end`,
      `function __sesame_auto --on-variable PWD
    __sesame_find
    test "$__sesame_found" = "$__sesame_auto_file"; and return 0
    test -n "$__sesame_auto_file"; and sesame_unload
    set -g __sesame_auto_file $__sesame_found
    test -n "$__sesame_found"; and sesame_load
    return 0
end`,
      'set -q __sesame_auto_file; or set -g __sesame_auto_file ""',
      '__sesame_auto',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** direnv: `use_sesame [PROJECT]` for .envrc; direnv itself undoes it when you leave. */
export function direnvHook(cmd: string[]): string {
  const run = cmd.map(shQuote).join(' ');
  return `# sesame for direnv, printed by \`sesame hook direnv\`. Put this line in ~/.config/direnv/direnvrc:
#   eval "$(sesame hook direnv)"
# then \`use sesame\` (or \`use sesame PROJECT\`) in an .envrc. No secret is in this text.
use_sesame() {
  local __sesame_pa= __sesame_out
  [ $# -gt 0 ] && __sesame_pa="--project=$1"
  [ -f .sesame.toml ] && watch_file .sesame.toml
  __sesame_out="$(SESAME_NO_PROMPT=1 ${run} \${__sesame_pa:+"$__sesame_pa"} env --format shell </dev/null 2>/dev/null)" || {
    local __sesame_rc=$?
    case "$__sesame_rc" in
${WHY.map(([c, m]) => `      ${c}) log_error "sesame: nothing loaded: ${m.replace(/`/g, '\\`')}" ;;`).join('\n')}
      *) log_error "sesame: nothing loaded (exit $__sesame_rc; run \\\`sesame env\\\` to see why)" ;;
    esac
    return 1
  }
  eval "$__sesame_out"
  unset __sesame_out
}
`;
}
