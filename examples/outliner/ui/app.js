// The outliner page: renders the scene from Python, renames/deletes through typed commands,
// shows their errors, and mirrors the host's selection.
const av = window.auroraview;
const $ = (id) => document.getElementById(id);
let scene = null;
let selected = new Set();

function count(node) { return 1 + node.children.reduce((n, c) => n + count(c), 0); }

function render() {
  const tree = $("tree");
  tree.replaceChildren(renderNode(scene));
  $("count").textContent = `${count(scene)} objects`;
  const current = [...selected][0];
  const node = current !== undefined ? find(scene, current) : null;
  $("name").disabled = $("do-rename").disabled = $("do-delete").disabled = !node;
  if (node && document.activeElement !== $("name")) $("name").value = node.name;
}

function renderNode(node) {
  const li = document.createElement("li");
  const row = document.createElement("div");
  row.className = "row" + (selected.has(node.id) ? " selected" : "");
  row.dataset.id = node.id;
  const kind = document.createElement("span");
  kind.className = "kind " + node.kind;
  kind.textContent = node.kind;
  const name = document.createElement("span");
  name.textContent = node.name; // text, never HTML
  row.append(kind, name);
  row.addEventListener("click", () => select([node.id]));
  li.append(row);
  if (node.children.length) {
    const ul = document.createElement("ul");
    node.children.forEach((c) => ul.append(renderNode(c)));
    li.append(ul);
  }
  return li;
}

function find(node, id) {
  if (node.id === id) return node;
  for (const c of node.children) { const f = find(c, id); if (f) return f; }
  return null;
}

function select(ids) {
  selected = new Set(ids);
  $("error").textContent = "";
  $("name").classList.remove("invalid");
  render();
  av.send_event("select", { ids, source: "page" });
}

function showError(e) {
  // Errors are structured: switch on the code, point at the field.
  const messages = {
    invalid_params: () => (e.data?.errors ?? []).map((x) => `${x.loc.join(".")}: ${x.msg}`).join("; "),
    name_taken: () => e.message,
    not_found: () => "that object no longer exists",
  };
  $("error").textContent = `${e.name}: ${(messages[e.code] ?? (() => e.message))()}`;
  if (e.code === "invalid_params" || e.code === "name_taken") $("name").classList.add("invalid");
}

$("rename").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = [...selected][0];
  try {
    await av.call("rename", { node_id: id, new_name: $("name").value });
    $("error").textContent = "";
    $("name").classList.remove("invalid");
    $("status").textContent = `renamed to ${$("name").value}`;
  } catch (e) { showError(e); }
});

$("do-delete").addEventListener("click", async () => {
  const id = [...selected][0];
  try {
    const removed = await av.call("delete", { node_id: id });
    selected = new Set();
    $("status").textContent = `deleted ${removed.length} object(s)`;
    render();
  } catch (e) { showError(e); }
});

av.on("scene_changed", (root) => { scene = root; render(); });
av.on("selection_changed", (sel) => {
  if (sel.source === "host") { selected = new Set(sel.ids); render(); $("status").textContent = "selection from the host"; }
});

window.addEventListener("auroraviewready", async () => {
  scene = await av.call("get_scene");
  $("status").textContent = "connected";
  render();
});
