#!/usr/bin/env node
/**
 * Writes an image as a `docker save` archive (what `ctr images import` and `docker load` read)
 * without a Docker engine: one layer per --rootfs directory (or ready --layer tarball), in order,
 * a config with the entrypoint, and the exact reference as its tag. Layers are tarred
 * deterministically (sorted names, mtime 0, numeric root ownership unless the file says otherwise),
 * so an unchanged directory gives the same layer digest.
 *
 *   node tools/images/dockerArchive.js --out X.tar --ref REF (--rootfs DIR | --layer TAR)... \
 *     [--entrypoint /bin/x[,arg]] [--cmd a,b] [--env K=V]... [--user U] [--workdir D]
 *
 * Plain JavaScript (no build step): scripts/node-setup.sh and scripts/images.sh run it before
 * `npm run build`.
 */
"use strict";
const { execFileSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

function parse(argv) {
  const o = { layers: [], env: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === "--rootfs") o.layers.push({ dir: v });
    else if (k === "--layer") o.layers.push({ tar: v });
    else if (k === "--env") o.env.push(v);
    else if (["--out", "--ref", "--entrypoint", "--cmd", "--user", "--workdir"].includes(k)) o[k.slice(2)] = v;
    else throw new Error(`unknown option ${k}`);
  }
  if (!o.out || !o.ref || o.layers.length === 0) throw new Error("--out, --ref and at least one --rootfs or --layer are required");
  return o;
}

function sha256File(file) {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest("hex");
}

function layerTar(layer, work, i) {
  if (layer.tar) return layer.tar;
  const out = path.join(work, `layer${i}.tar`);
  execFileSync("tar", ["--sort=name", "--mtime=@0", "--numeric-owner", "--xattrs", "--xattrs-include=security.capability", "--xattrs-include=user.*", "-C", layer.dir, "-cf", out, "."], { stdio: "inherit" });
  return out;
}

function main() {
  const o = parse(process.argv.slice(2));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "stx-image-"));
  try {
    const archive = path.join(work, "archive");
    fs.mkdirSync(archive);
    const diffIds = [];
    const layerPaths = [];
    o.layers.forEach((layer, i) => {
      const tar = layerTar(layer, work, i);
      const digest = sha256File(tar);
      fs.mkdirSync(path.join(archive, digest), { recursive: true });
      fs.copyFileSync(tar, path.join(archive, digest, "layer.tar"));
      diffIds.push(`sha256:${digest}`);
      layerPaths.push(`${digest}/layer.tar`);
    });
    const list = (s) => (s === undefined ? undefined : s.split(","));
    const config = {
      architecture: "amd64",
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      config: {
        Entrypoint: list(o.entrypoint),
        Cmd: list(o.cmd),
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...o.env],
        User: o.user,
        WorkingDir: o.workdir,
      },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "stx-build-cluster tools/images/dockerArchive.js (test double)" })),
    };
    const configText = JSON.stringify(config);
    const configName = `${crypto.createHash("sha256").update(configText).digest("hex")}.json`;
    fs.writeFileSync(path.join(archive, configName), configText);
    fs.writeFileSync(path.join(archive, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: [o.ref], Layers: layerPaths }]));
    fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    const tmp = `${o.out}.partial`;
    execFileSync("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", archive, "-cf", tmp, "."], { stdio: "inherit" });
    fs.renameSync(tmp, o.out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
