# The chat-room demo: a WebAssembly component written in JavaScript
# (wasm/chat_room/chat-room.js, built by componentize-js), run by wasmex under
# a supervisor, that publishes its messages through a function written in
# Elixir.
#
#     bash wasm/chat_room/build.sh       # needs Node.js 20+ and npm
#     mix run examples/chat_room.exs
#
# `make demo` runs both. This script builds nothing itself.

defmodule ChatDemo do
  @wasm Path.expand("../wasm/chat_room/chat-room.wasm", __DIR__)
  @restart_wait_ms 120_000

  # The component's `publish-message` import.
  def publish(message) do
    IO.puts("   [published] #{message}")
    {:ok, "published"}
  end

  def run do
    if File.exists?(@wasm) do
      demo()
    else
      IO.puts("""
      The chat-room component #{Path.relative_to_cwd(@wasm)} is not built yet.
      Build it (this needs Node.js 20 or later and npm), then run this again:

          bash wasm/chat_room/build.sh
          mix run examples/chat_room.exs
      """)
    end
  end

  defp demo do
    IO.puts(
      IO.ANSI.format([:bright, "The chat room: a WebAssembly component written in JavaScript"])
    )

    size_mb = Float.round(File.stat!(@wasm).size / 1_000_000, 1)
    IO.puts("   #{Path.relative_to_cwd(@wasm)}: #{size_mb} MB, built by componentize-js")

    children = [
      {Wasmex.Components,
       name: ChatRoom,
       path: @wasm,
       imports: %{"publish-message" => {:fn, &ChatDemo.publish/1}},
       wasi: %Wasmex.Wasi.WasiP2Options{inherit_stdout: true}}
    ]

    IO.puts("   starting the supervisor (it compiles the component first)...")

    {elapsed, {:ok, _sup}} =
      :timer.tc(fn ->
        Supervisor.start_link(children, strategy: :one_for_one, name: ChatDemo.Supervisor)
      end)

    IO.puts("   ChatRoom started in #{seconds(elapsed)}")

    step("1. init: the room's first state")
    {:ok, state} = Wasmex.Components.call_function(ChatRoom, "init", [])
    IO.puts("   state = #{inspect(state)}")

    step("2. add-message: the component publishes through Elixir")
    state = chat(state, "Hello from Elixir!")
    state = chat(state, "Is anybody in there?")

    step("3. message-added built the state")
    Enum.each(state, &IO.puts("   | " <> &1))

    step("4. the secret word fails")
    {:ok, {:error, reason}} = Wasmex.Components.call_function(ChatRoom, "add-message", ["WAT"])
    IO.puts("   add-message(\"WAT\") -> {:error, #{inspect(reason)}}")
    {:ok, {:ok, _}} = Wasmex.Components.call_function(ChatRoom, "add-message", ["still here?"])
    IO.puts("   and the room goes on")

    step("5. the supervisor restarts a killed room")
    old = Process.whereis(ChatRoom)
    Process.exit(old, :kill)

    IO.puts(
      "   killed ChatRoom #{inspect(old)}; waiting for the supervisor (the compiled component is cached, so no compile this time)"
    )

    case await_restart(old, @restart_wait_ms) do
      {:ok, new, waited_ms} ->
        IO.puts("   ChatRoom is back as #{inspect(new)} after #{seconds(waited_ms * 1000)}")
        {:ok, state} = Wasmex.Components.call_function(ChatRoom, "init", [])
        IO.puts("   init -> #{inspect(state)} (a fresh instance: the state is reset)")
        chat(state, "Back again!")

      :timeout ->
        raise "ChatRoom was not restarted within #{div(@restart_wait_ms, 1000)} s"
    end

    :ok = Supervisor.stop(ChatDemo.Supervisor)
    IO.puts("\nDone.")
  end

  # Adds `message` to the room, then lets the component build the new state.
  defp chat(state, message) do
    IO.puts("   > add-message(#{inspect(message)})")

    {:ok, {:ok, reply}} = Wasmex.Components.call_function(ChatRoom, "add-message", [message])

    IO.puts("   <- {:ok, #{inspect(reply)}}")

    {:ok, state} = Wasmex.Components.call_function(ChatRoom, "message-added", [message, state])

    IO.puts("   message-added -> #{length(state)} messages")
    state
  end

  defp await_restart(old, wait_ms) do
    started = System.monotonic_time(:millisecond)
    poll(old, started, started + wait_ms)
  end

  defp poll(old, started, deadline) do
    now = System.monotonic_time(:millisecond)

    case Process.whereis(ChatRoom) do
      pid when is_pid(pid) and pid != old ->
        {:ok, pid, now - started}

      _ when now >= deadline ->
        :timeout

      _ ->
        Process.sleep(100)
        poll(old, started, deadline)
    end
  end

  defp seconds(microseconds), do: "#{Float.round(microseconds / 1_000_000, 1)} s"

  defp step(title), do: IO.puts(["\n", IO.ANSI.format([:bright, title])])
end

ChatDemo.run()
