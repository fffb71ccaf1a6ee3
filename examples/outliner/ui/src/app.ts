// The outliner page: renders the scene from Python, renames/deletes through the generated,
// typed bindings, shows their declared errors, and mirrors the host's selection.
import { isInvokeError } from "@auroraview/sdk";
import { commands, events, type DeclaredError, type Node } from "./outliner.gen.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
let scene: Node | null = null;
let selected = new Set<number>();

function count(node: Node): number {
  return 1 + node.children.reduce((n, c) => n + count(c), 0);
}

function find(node: Node, id: number): Node | null {
  if (node.id === id) return node;
  for (const c of node.children) {
    const f = find(c, id);
    if (f) return f;
  }
  return null;
}

function render(): void {
  if (!scene) return;
  $("tree").replaceChildren(renderNode(scene));
  $("count").textContent = `${count(scene)} objects`;
  const current = [...selected][0];
  const node = current !== undefined ? find(scene, current) : null;
  const name = $<HTMLInputElement>("name");
  name.disabled = $<HTMLButtonElement>("do-rename").disabled = $<HTMLButtonElement>("do-delete").disabled = !node;
  if (node && document.activeElement !== name) name.value = node.name;
}

function renderNode(node: Node): HTMLLIElement {
  const li = document.createElement("li");
  const row = document.createElement("div");
  row.className = "row" + (selected.has(node.id) ? " selected" : "");
  row.dataset.id = String(node.id);
  const kind = document.createElement("span");
  kind.className = "kind " + node.kind;
  kind.textContent = node.kind;
  const label = document.createElement("span");
  label.textContent = node.name; // text, never HTML
  row.append(kind, label);
  row.addEventListener("click", () => select([node.id]));
  li.append(row);
  if (node.children.length) {
    const ul = document.createElement("ul");
    node.children.forEach((c) => ul.append(renderNode(c)));
    li.append(ul);
  }
  return li;
}

function select(ids: number[]): void {
  selected = new Set(ids);
  $("error").textContent = "";
  $("name").classList.remove("invalid");
  render();
  events.select.send({ ids, source: "page" });
}

function showError(e: unknown): void {
  if (!isInvokeError(e)) {
    $("error").textContent = String(e);
    return;
  }
  // Validation errors carry pydantic's list; declared errors are typed by name.
  let text = e.message;
  if (e.code === "invalid_params") {
    const errors = (e.data as { errors?: Array<{ loc: Array<string | number>; msg: string }> }).errors ?? [];
    text = errors.map((x) => `${x.loc.join(".")}: ${x.msg}`).join("; ");
  } else {
    const declared = e as DeclaredError;
    switch (declared.name) {
      case "NameTaken":
        text = `${declared.message} (${declared.data.field})`;
        break;
      case "NotFound":
        text = "that object no longer exists";
        break;
    }
  }
  $("error").textContent = `${e.name}: ${text}`;
  if (e.code === "invalid_params" || e.code === "name_taken") $("name").classList.add("invalid");
}

$("rename").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = [...selected][0];
  if (id === undefined) return;
  const newName = $<HTMLInputElement>("name").value;
  try {
    await commands.rename({ node_id: id, new_name: newName });
    $("error").textContent = "";
    $("name").classList.remove("invalid");
    $("status").textContent = `renamed to ${newName}`;
  } catch (e) {
    showError(e);
  }
});

$("do-delete").addEventListener("click", async () => {
  const id = [...selected][0];
  if (id === undefined) return;
  try {
    const removed = await commands.delete({ node_id: id });
    selected = new Set();
    $("status").textContent = `deleted ${removed.length} object(s)`;
    render();
  } catch (e) {
    showError(e);
  }
});

events.sceneChanged.on((root) => {
  scene = root;
  render();
});
events.selectionChanged.on((sel) => {
  if (sel.source === "host") {
    selected = new Set(sel.ids);
    render();
    $("status").textContent = "selection from the host";
  }
});

window.addEventListener("auroraviewready", async () => {
  scene = await commands.getScene();
  $("status").textContent = "connected";
  render();
});
