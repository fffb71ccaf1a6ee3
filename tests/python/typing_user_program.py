"""A user's program, checked by pyright in strict mode (scripts/lint.sh): it pins the types the
public API hands to an app's own code. Registration must give back what it was given, so a
command stays a typed function Python code can call, and the `assert_type` lines fail the check
when a decorator or a registration call loses a type.

It also runs, headless (a test client stands in for the window's page):

    .venv/bin/python tests/python/typing_user_program.py
"""

# Arguments of the wrong type must stay errors: an ignore below that is no longer needed fails.
# pyright: reportUnnecessaryTypeIgnoreComment=true

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from auroraview import App, Commands, InvokeError, InvokeException, WebView
from auroraview.testing import ReceivedEvent, TestClient

if sys.version_info >= (3, 11):
    from typing import assert_type
else:  # the project supports 3.10, where it lives in typing_extensions
    from typing_extensions import assert_type


class Todo(BaseModel):
    id: int
    title: str
    done: bool = False


class TodoNotFound(InvokeException):
    """No todo has this id; `data` is the id."""

    code = "todo_not_found"
    data_type = int


commands = Commands()
app = App(commands, sync_workers=4)
commands.declare_event("todo_changed", Todo, doc="A todo after a change.")
todos: dict[int, Todo] = {}
opened: list[str] = []


@commands.command("todos.add", timeout=2.0)
def add(title: str) -> Todo:
    """Add a todo (a sync handler: it runs in the worker pool)."""
    todo = Todo(id=len(todos) + 1, title=title)
    todos[todo.id] = todo
    return todo


@commands.command(errors=[TodoNotFound])
async def toggle(todo_id: int) -> Todo:
    """Flip a todo's done flag; tells every page."""
    todo = todos.get(todo_id)
    if todo is None:
        raise TodoNotFound(f"no todo {todo_id}", data=todo_id)
    todo.done = not todo.done
    commands.emit("todo_changed", todo)
    return todo


class Stats:
    """Exposed to the page as `stats.<method>`."""

    def count(self) -> int:
        return len(todos)

    def done(self) -> list[int]:
        return [t.id for t in todos.values() if t.done]


exposed = commands.bind_api(Stats(), namespace="stats")


@commands.on("page_opened")
def page_opened(url: str) -> None:
    opened.append(url)


def clear() -> None:
    todos.clear()


on_clear = commands.on("clear", clear)

view = WebView("Todos", html="<h1>todos</h1>", app=app, label="main")


@view.command()
async def window_title() -> str:
    return view.title


# Every argument `Commands.command` takes, on a window too (one it lacked made the function `Any`).
@view.command("window.ping", timeout=1.0, transports=["window"], origins=["auroraview://localhost"])
def window_ping(count: int) -> int:
    return count


@view.on("closing")
async def closing(reason: str) -> None:
    opened.append(f"closing: {reason}")


# What registration gives back: the same functions, types intact (results in `main`).
assert_type(exposed, list[str])
assert_type(on_clear, Callable[[], None])
assert_type(view.app, App)
if TYPE_CHECKING:  # never run; each line is an error only while the parameter types are kept
    add(42)  # pyright: ignore[reportArgumentType]
    _ = toggle("1")  # pyright: ignore[reportArgumentType]
    page_opened(b"url")  # pyright: ignore[reportArgumentType]
    window_title(1)  # pyright: ignore[reportCallIssue]
    window_ping("1")  # pyright: ignore[reportArgumentType]
    _ = closing(None)  # pyright: ignore[reportArgumentType]


async def main() -> None:
    # Commands stay plain, typed functions for Python code.
    first = assert_type(add("milk"), Todo)
    assert_type(await toggle(first.id), Todo)
    assert_type(await toggle(todo_id=first.id), Todo)
    assert_type(await window_title(), str)
    assert_type(window_ping(2), int)
    assert_type(await closing("test"), None)
    assert_type(page_opened("about:blank"), None)
    assert_type(on_clear(), None)

    async with TestClient(view) as client:  # stands in for the window's page
        added = await client.call("todos.add", {"title": "bread"})
        assert added == {"id": 1, "title": "bread", "done": False}, added
        assert await client.call("stats.count") == 1
        try:
            await client.call("toggle", {"todo_id": 99})
        except InvokeError as e:
            assert (e.name, e.code, e.data) == ("TodoNotFound", "todo_not_found", 99), e
        else:
            raise AssertionError("toggle(99) should fail")
        waiter = asyncio.create_task(client.wait_for_event("todo_changed"))
        await asyncio.sleep(0)  # waiting from now on
        await client.call("toggle", [1])
        changed = assert_type(await waiter, ReceivedEvent)
        assert changed.payload == {"id": 1, "title": "bread", "done": True}, changed

        await client.send_event("page_opened", "auroraview://localhost/")
        assert opened[-1] == "auroraview://localhost/", opened

        # Events to this window's page only, by connection, by window and by transport.
        view.emit("todo_changed", first)
        assert_type(app.emit("todo_changed", first, to=client.connection), int)
        app.emit("todo_changed", first, to=view)
        commands.emit("todo_changed", first, to=("window", "main"))
        commands.emit("todo_changed", first, to=("transport", "in_process"))
        received = assert_type(client.events, list[ReceivedEvent])
        # 2 emitted by the direct calls above, held until a page connected; 1 by the call; 5 here.
        assert [e.name for e in received].count("todo_changed") == 8, received

        raw = assert_type(await client.send_raw('{"type":"call","id":"r1","method":"stats.done"}'), str | None)
        assert raw == '{"type":"call_result","id":"r1","ok":true,"result":[1]}', raw
    print("typing_user_program: ok")


if __name__ == "__main__":
    asyncio.run(main())
