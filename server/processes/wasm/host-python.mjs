// Python on Pyodide inside the wasm host: mirror the workspace into the interpreter's
// in-memory file system, run the program, and copy its changes back. Loading Pyodide and
// locking it down is host-pyodide.mjs.

import { writeAll } from './host-io.mjs';
import { loadPyodideCapped, lockDownPyodide } from './host-pyodide.mjs';
import {
  digest,
  listWorkspace,
  makeWorkspaceDir,
  readWorkspaceFile,
  removeWorkspaceDir,
  removeWorkspaceFile,
  WORKSPACE_LIMIT_BYTES,
  writeWorkspaceFile,
} from './host-workspace.mjs';

/** Where the workspace appears inside Pyodide; also the program's cwd and HOME. */
const MOUNT = '/workspace';
/** Where the files the user shared appear, read-only (the workspace's own shared/ is hidden). */
const SHARED = 'shared';

// Runs the program as __main__ from "<stdin>" and turns its end into an exit status:
// SystemExit's code, 1 with a traceback for any other exception. The runner's own frame is
// dropped from tracebacks, so they start at the user's code as with `python3 -`.
const RUNNER_PY = `
def __cog_run(source):
    import linecache, sys, traceback
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "__file__": "<stdin>"}
    # Lets tracebacks quote the program's own lines.
    linecache.cache["<stdin>"] = (len(source), None, source.splitlines(True), "<stdin>")
    try:
        exec(compile(source, "<stdin>", "exec", dont_inherit=True), namespace)
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except BaseException as e:
        tb = e.__traceback__
        traceback.print_exception(type(e), e, tb.tb_next if tb is not None else None)
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    return 0
__cog_run
`;

/**
 * Loads Pyodide from `pyodideDir` with its linear memory capped at `memoryBytes`.
 * @returns {Promise<{ run(code: string, workspace: string): number }>}
 */
export async function loadPython({ pyodideDir, memoryBytes, shared }) {
  const py = await loadPyodideCapped({ pyodideDir, memoryBytes, home: MOUNT });
  const runner = py.runPython(RUNNER_PY);
  const fs = captureFs(py.FS);
  const readOnly = readOnlyMaker(py.FS, py._module.ERRNO_CODES.EROFS);
  lockDownPyodide(py);
  return {
    run(code, workspace) {
      const before = copyIn(fs, workspace, shared !== undefined);
      if (shared !== undefined) shareIn(fs, shared, readOnly);
      let status;
      try {
        status = runner(code);
      } catch (err) {
        // os._exit(n) ends the interpreter with Pyodide's Exit error; files still count.
        if (err?.name !== 'Exit' || typeof err.status !== 'number') throw err;
        status = err.status & 0xff;
      }
      const saved = copyOut(fs, workspace, before, shared !== undefined);
      return status === 0 && !saved ? 1 : status;
    },
  };
}

/**
 * The MEMFS calls the host makes after the program ran, taken before it runs: Python can
 * reach the FS object and replace its methods, but not these references.
 */
function captureFs(FS) {
  const bind = (name) => FS[name].bind(FS);
  return {
    mkdirTree: bind('mkdirTree'),
    writeFile: bind('writeFile'),
    readFile: bind('readFile'),
    readdir: bind('readdir'),
    lstat: bind('lstat'),
    isDir: bind('isDir'),
    isFile: bind('isFile'),
    lookupPath: bind('lookupPath'),
  };
}

/**
 * Makes a MEMFS node read-only for the program: every call that would change it or its
 * directory's entries fails with EROFS (chmod included, so the modes below hold), and its
 * modes (0444, 0555) make Emscripten's own permission checks refuse creating or renaming
 * into it. It is the run's in-memory copy either way: nothing under shared/ is written
 * back, so even a program that reached Pyodide's internals changes only its own view.
 */
function readOnlyMaker(FS, EROFS) {
  const ErrnoError = FS.ErrnoError;
  const deny = () => {
    throw new ErrnoError(EROFS);
  };
  return (node, isDir) => {
    node.node_ops = Object.freeze({
      ...node.node_ops,
      setattr: deny,
      mknod: deny,
      rename: deny,
      unlink: deny,
      rmdir: deny,
      symlink: deny,
    });
    if (!isDir) {
      node.stream_ops = Object.freeze({
        ...node.stream_ops,
        write: deny,
        allocate: deny,
        msync: deny,
      });
    }
    node.mode = (node.mode & ~0o7777) | (isDir ? 0o555 : 0o444);
  };
}

/**
 * Copies the shared files into MEMFS at MOUNT/shared and makes every file and directory
 * there read-only. They are small (each was capped when it was sent).
 */
function shareIn(fs, shared, readOnly) {
  const root = `${MOUNT}/${SHARED}`;
  const { files, dirs } = listWorkspace(shared);
  fs.mkdirTree(root);
  for (const dir of dirs) fs.mkdirTree(`${root}/${dir}`);
  for (const { name } of files) {
    try {
      fs.writeFile(`${root}/${name}`, readWorkspaceFile(shared, name, WORKSPACE_LIMIT_BYTES));
    } catch (err) {
      writeAll(2, `cog: the shared file ${name} could not be shown: ${err.message}\n`);
    }
  }
  // Files first, then directories deepest first: a read-only directory takes no new entry.
  for (const { name } of files) {
    const node = lookup(fs, `${root}/${name}`);
    if (node) readOnly(node, false);
  }
  for (const dir of [...dirs].reverse()) {
    const node = lookup(fs, `${root}/${dir}`);
    if (node) readOnly(node, true);
  }
  const top = lookup(fs, root);
  if (top) readOnly(top, true);
}

function lookup(fs, path) {
  try {
    return fs.lookupPath(path, { follow: false }).node;
  } catch {
    return undefined;
  }
}

/**
 * Copies the workspace into MEMFS at MOUNT, up to WORKSPACE_LIMIT_BYTES (what does not fit
 * is left out with a warning). Returns the digests of what was copied.
 * @returns {Map<string, string>} file name → sha-256, and directory names → ''
 */
function copyIn(fs, workspace, hideShared) {
  const before = new Map();
  const listed = listWorkspace(workspace);
  const mine = (name) => !hideShared || (name !== SHARED && !name.startsWith(`${SHARED}/`));
  const files = listed.files.filter((f) => mine(f.name));
  const dirs = listed.dirs.filter(mine);
  fs.mkdirTree(MOUNT);
  for (const dir of dirs) {
    fs.mkdirTree(`${MOUNT}/${dir}`);
    before.set(dir + '/', '');
  }
  let total = 0;
  const skipped = [];
  for (const { name, size } of files) {
    if (total + size > WORKSPACE_LIMIT_BYTES) {
      skipped.push(name);
      continue;
    }
    let bytes;
    try {
      bytes = readWorkspaceFile(workspace, name, WORKSPACE_LIMIT_BYTES - total);
    } catch {
      skipped.push(name);
      continue;
    }
    total += bytes.length;
    fs.writeFile(`${MOUNT}/${name}`, bytes);
    before.set(name, digest(bytes));
  }
  if (skipped.length > 0) {
    writeAll(
      2,
      `cog: ${skipped.length} workspace file(s) over the ${mib(WORKSPACE_LIMIT_BYTES)} MiB ` +
        `limit were not made visible to Python: ${skipped.slice(0, 5).join(', ')}` +
        `${skipped.length > 5 ? ', ...' : ''}\n`,
    );
  }
  return before;
}

/**
 * Writes files the program created or changed under MOUNT back to the workspace and
 * deletes the ones it removed. All or nothing on size: if the changed files add up to
 * more than WORKSPACE_LIMIT_BYTES, nothing is saved and the run fails with a message.
 * @returns {boolean} whether everything was saved
 */
function copyOut(fs, workspace, before, skipShared) {
  const changed = [];
  const seen = new Set();
  let total = 0;
  let overLimit = false;
  const walk = (dir, prefix, depth) => {
    if (depth > 32) return;
    let names;
    try {
      names = fs.readdir(dir);
    } catch {
      return;
    }
    for (const entry of names) {
      if (entry === '.' || entry === '..') continue;
      // The shared view is never carried out: it is not the workspace's.
      if (skipShared && prefix === '' && entry === SHARED) continue;
      const name = prefix + entry;
      const path = `${dir}/${entry}`;
      const { mode, size } = fs.lstat(path);
      if (fs.isDir(mode)) {
        seen.add(name + '/');
        if (!before.has(name + '/')) changed.push({ name, dir: true });
        walk(path, name + '/', depth + 1);
      } else if (fs.isFile(mode)) {
        seen.add(name);
        if (overLimit) continue;
        // A new file over the limit is refused by its size, without copying it out of wasm.
        if (!before.has(name) && total + size > WORKSPACE_LIMIT_BYTES) {
          overLimit = true;
          continue;
        }
        const bytes = fs.readFile(path);
        if (before.get(name) === digest(bytes)) continue;
        total += bytes.length;
        if (total > WORKSPACE_LIMIT_BYTES) overLimit = true;
        else changed.push({ name, bytes });
      }
      // Links and devices made inside Pyodide are not carried out of it.
    }
  };
  walk(MOUNT, '', 0);
  if (overLimit) {
    writeAll(
      2,
      `cog: not saved: the files this run wrote add up to more than the ` +
        `${mib(WORKSPACE_LIMIT_BYTES)} MiB a run may save to the workspace; ` +
        `write less, or delete files, and run again\n`,
    );
    return false;
  }
  let ok = true;
  const report = (name, err) => {
    ok = false;
    writeAll(2, `cog: could not save ${name} to the workspace: ${err.message}\n`);
  };
  for (const item of changed) {
    try {
      if (item.dir) makeWorkspaceDir(workspace, item.name);
      else writeWorkspaceFile(workspace, item.name, item.bytes);
    } catch (err) {
      report(item.name, err);
    }
  }
  // Deletions: deepest first, so directories are empty by the time they are removed.
  const gone = [...before.keys()].filter((name) => !seen.has(name)).reverse();
  for (const name of gone) {
    try {
      if (name.endsWith('/')) removeWorkspaceDir(workspace, name.slice(0, -1));
      else removeWorkspaceFile(workspace, name);
    } catch (err) {
      report(name, err);
    }
  }
  return ok;
}

function mib(bytes) {
  return Math.round(bytes / (1024 * 1024));
}
