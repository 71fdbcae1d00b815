/**
 * Help beyond `--help`: the documentation shipped in the package (package.json "files"
 * includes docs/), found next to the installed executable, so `sesame help TOPIC` and the
 * help footer point at files that exist after `npm install -g`, not at a clone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SesameError } from '../../core/errors.js';

/** The installed docs directory: `<package>/docs`, the sibling of the executable's dist directory. */
export function docsDir(): string {
  let script = process.argv[1] ?? '';
  try {
    script = fs.realpathSync(script); // npm's bin is a symlink into the package
  } catch {
    /* keep the path as given */
  }
  return path.resolve(path.dirname(script), '..', 'docs');
}

/** The names of the .md files in one directory (without .md), sorted; none when it cannot be read. */
function mdNames(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.md'))
      .map((f) => f.slice(0, -3))
      .sort();
  } catch {
    return [];
  }
}

/** The topics: the shipped docs/*.md pages, then the specifications docs/spec/*.md as `spec/NAME`. */
export function topics(): string[] {
  return [...mdNames(docsDir()), ...mdNames(path.join(docsDir(), 'spec')).map((n) => `spec/${n}`)];
}

/** The last lines of the main help: where to read more, as paths that exist after install. */
export function helpFooter(): string {
  const t = topics();
  return t.length ? `more: sesame help TOPIC (${t.join(', ')}) · sesame COMMAND --help\ndocs: ${docsDir()}` : 'more: sesame COMMAND --help';
}

/** The text of one topic (docs/TOPIC.md); NOT_FOUND, listing the topics, for anything else. */
export function topicText(topic: string): Buffer {
  const t = topics();
  if (!t.includes(topic)) {
    throw new SesameError('NOT_FOUND', `no command or help topic ${JSON.stringify(topic.slice(0, 64))}`, { hint: `topics: ${t.join(', ') || '(no docs installed)'}; commands: sesame --help` });
  }
  return fs.readFileSync(path.join(docsDir(), `${topic}.md`));
}
