#!/usr/bin/env node
// Writes and checks docker-archive tarballs (the `docker save` layout that `ctr images import`
// reads): one directory per layer holding layer.tar, the image config <sha256>.json, manifest.json
// and repositories. Used by scripts/images.sh; no Docker engine or registry is involved.
//
//   node archive.js write OUT.tar REF CONFIG.json LAYER.tar...   the image REF from those layers
//   node archive.js verify TAR REF                               exit 1 unless TAR is well formed and named REF
//   node archive.js pinned VERSIONS.ts KEY                       the image IMAGES.KEY pins in src/versions.ts
"use strict";
const crypto = require("crypto");
const fs = require("fs");

const BLOCK = 512;

function sha256File(file) {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  let n;
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return hash.digest("hex");
}

/** One ustar header: names here are short (`<64 hex>/layer.tar`), so no long-name extension is needed. */
function header(name, size, type = "0") {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar member name too long: ${name}`);
  const h = Buffer.alloc(BLOCK, 0);
  const field = (off, len, value) => h.write(value, off, len, "ascii");
  const octal = (off, len, value) => field(off, len, value.toString(8).padStart(len - 1, "0") + "\0");
  field(0, 100, name);
  octal(100, 8, type === "5" ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0); // mtime: the epoch, so the same layers give the same archive
  field(156, 1, type);
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  h.fill(" ", 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

function writeMember(fd, name, data) {
  fs.writeSync(fd, header(name, data.length));
  fs.writeSync(fd, data);
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  if (pad) fs.writeSync(fd, Buffer.alloc(pad));
}

function copyMember(fd, name, file) {
  const size = fs.statSync(file).size;
  fs.writeSync(fd, header(name, size));
  const src = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  let n;
  while ((n = fs.readSync(src, buf, 0, buf.length, null)) > 0) fs.writeSync(fd, buf, 0, n);
  fs.closeSync(src);
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad) fs.writeSync(fd, Buffer.alloc(pad));
}

/** `repositories` keys a repository by name and tag; a digest reference has no tag to key it by. */
function splitRef(ref) {
  const at = ref.indexOf("@");
  if (at >= 0) return { repo: ref.slice(0, at), tag: undefined };
  const colon = ref.lastIndexOf(":");
  if (colon < 0 || ref.slice(colon).includes("/")) throw new Error(`image reference without tag or digest: ${ref}`);
  return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

function write(out, ref, configFile, layers) {
  const settings = JSON.parse(fs.readFileSync(configFile, "utf8"));
  const diffIds = layers.map((l) => sha256File(l));
  const config = {
    architecture: "amd64",
    os: "linux",
    // The epoch: `created` is part of the config digest, and the image ID should depend on content only.
    created: "1970-01-01T00:00:00Z",
    config: settings,
    rootfs: { type: "layers", diff_ids: diffIds.map((d) => `sha256:${d}`) },
    history: layers.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "scripts/images.sh" })),
  };
  const configJson = Buffer.from(JSON.stringify(config));
  const configId = crypto.createHash("sha256").update(configJson).digest("hex");
  const { repo, tag } = splitRef(ref);
  const manifest = [{ Config: `${configId}.json`, RepoTags: [ref], Layers: diffIds.map((d) => `${d}/layer.tar`) }];
  const tmp = `${out}.tmp`;
  const fd = fs.openSync(tmp, "w");
  const seen = new Set();
  layers.forEach((file, i) => {
    if (seen.has(diffIds[i])) return; // the same layer twice is stored once
    seen.add(diffIds[i]);
    fs.writeSync(fd, header(`${diffIds[i]}/`, 0, "5"));
    copyMember(fd, `${diffIds[i]}/layer.tar`, file);
  });
  writeMember(fd, `${configId}.json`, configJson);
  writeMember(fd, "manifest.json", Buffer.from(JSON.stringify(manifest)));
  if (tag) writeMember(fd, "repositories", Buffer.from(JSON.stringify({ [repo]: { [tag]: diffIds[diffIds.length - 1] } })));
  fs.writeSync(fd, Buffer.alloc(2 * BLOCK));
  fs.closeSync(fd);
  fs.renameSync(tmp, out);
}

/** Reads the members of a tar file: name -> { offset, size } (regular files only). */
function members(file) {
  const fd = fs.openSync(file, "r");
  const total = fs.fstatSync(fd).size;
  const h = Buffer.alloc(BLOCK);
  const found = new Map();
  for (let off = 0; off + BLOCK <= total;) {
    fs.readSync(fd, h, 0, BLOCK, off);
    if (h.every((b) => b === 0)) break;
    const name = h.toString("ascii", 0, 100).replace(/\0.*$/s, "");
    const size = parseInt(h.toString("ascii", 124, 136).replace(/\0.*$/s, "").trim() || "0", 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== parseInt(h.toString("ascii", 148, 156), 8)) throw new Error(`${file}: bad header checksum at ${off}`);
    if (h[156] === 0x30 || h[156] === 0) found.set(name, { offset: off + BLOCK, size });
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  fs.closeSync(fd);
  return { found, read: (m) => { const b = Buffer.alloc(m.size); const f = fs.openSync(file, "r"); fs.readSync(f, b, 0, m.size, m.offset); fs.closeSync(f); return b; } };
}

function sha256Member(file, m) {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  for (let done = 0; done < m.size;) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.size - done), m.offset + done);
    hash.update(buf.subarray(0, n));
    done += n;
  }
  fs.closeSync(fd);
  return hash.digest("hex");
}

/** Every problem of the archive at `file` as it would be imported under `ref`; empty when none. */
function verify(file, ref) {
  const problems = [];
  const { found, read } = members(file);
  const need = (name) => found.get(name) ?? (problems.push(`no ${name}`), undefined);
  const m = need("manifest.json");
  if (!m) return problems;
  const manifest = JSON.parse(read(m).toString());
  if (!Array.isArray(manifest) || manifest.length !== 1) return [...problems, "manifest.json must hold exactly one image"];
  const [image] = manifest;
  if (JSON.stringify(image.RepoTags) !== JSON.stringify([ref])) problems.push(`RepoTags ${JSON.stringify(image.RepoTags)}, expected [${JSON.stringify(ref)}]`);
  const c = need(image.Config);
  if (!c) return problems;
  const configBytes = read(c);
  if (crypto.createHash("sha256").update(configBytes).digest("hex") !== image.Config.replace(/\.json$/, "")) problems.push("config file name is not its digest");
  const config = JSON.parse(configBytes.toString());
  if (config.os !== "linux" || config.architecture !== "amd64") problems.push(`platform ${config.os}/${config.architecture}, expected linux/amd64`);
  const cmd = [...(config.config?.Entrypoint ?? []), ...(config.config?.Cmd ?? [])];
  if (!cmd.length) problems.push("neither Entrypoint nor Cmd");
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== image.Layers.length) problems.push(`${image.Layers.length} layers but ${diffIds.length} diff_ids`);
  image.Layers.forEach((layer, i) => {
    const l = need(layer);
    if (l && `sha256:${sha256Member(file, l)}` !== diffIds[i]) problems.push(`${layer}: content does not match diff_id ${diffIds[i]}`);
  });
  return problems;
}

/** The image src/versions.ts pins under IMAGES.<key> (read from the source: this script runs before any build). */
function pinned(versionsTs, key) {
  const text = fs.readFileSync(versionsTs, "utf8");
  const block = /export const IMAGES = \{([\s\S]*?)\n\}/.exec(text)?.[1];
  if (!block) throw new Error(`${versionsTs}: no IMAGES object`);
  const value = new RegExp(`\\n\\s*${key}: "([^"]+)"`).exec(block)?.[1];
  if (!value) throw new Error(`${versionsTs}: IMAGES has no ${key}`);
  return value;
}

function main([cmd, ...args]) {
  if (cmd === "write" && args.length >= 4) return write(args[0], args[1], args[2], args.slice(3));
  if (cmd === "verify" && args.length === 2) {
    const problems = verify(args[0], args[1]);
    for (const p of problems) console.error(`${args[0]}: ${p}`);
    process.exit(problems.length ? 1 : 0);
  }
  if (cmd === "pinned" && args.length === 2) return console.log(pinned(args[0], args[1]));
  console.error("usage: archive.js write OUT REF CONFIG LAYER... | verify TAR REF | pinned VERSIONS.ts KEY");
  process.exit(2);
}

if (require.main === module) main(process.argv.slice(2));
module.exports = { verify, pinned, splitRef };
