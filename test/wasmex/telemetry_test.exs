defmodule Wasmex.TelemetryTest do
  # Attaches global handlers: not async.
  use ExUnit.Case, async: false

  alias Wasmex.Telemetry

  setup do
    id = "wasmex-telemetry-test-#{System.unique_integer([:positive])}"
    on_exit(fn -> :telemetry.detach(id) && Telemetry.refresh() end)
    %{id: id}
  end

  @doc false
  def handle(event, measurements, metadata, test), do: send(test, {event, measurements, metadata})

  defp attach!(id, events),
    do: :ok = :telemetry.attach_many(id, events, &__MODULE__.handle/4, self())

  describe "refresh/0 and attached?/1" do
    test "follow which Wasmex events have handlers", %{id: id} do
      :ok = Telemetry.refresh()
      refute Telemetry.attached?(:compile)
      attach!(id, [[:wasmex, :compile, :exception]])
      :ok = Telemetry.refresh()
      assert Telemetry.attached?(:compile)
      refute Telemetry.attached?(:instantiate)
      :telemetry.detach(id)
      :ok = Telemetry.refresh()
      refute Telemetry.attached?(:compile)
    end

    test "the watcher notes a new handler within about a second, without refresh/0", %{id: id} do
      :ok = Telemetry.refresh()
      attach!(id, [[:wasmex, :instantiate, :stop]])

      waited =
        Enum.find(0..30, fn step ->
          Telemetry.attached?(:instantiate) || (Process.sleep(100) && step == 30)
        end)

      assert waited < 30, "not noted after 3 s"
    end
  end

  describe "span/4" do
    test "an exception: the :exception event with kind, reason and stacktrace, then re-raised",
         %{id: id} do
      attach!(id, [[:wasmex, :call, :start], [:wasmex, :call, :exception]])
      :ok = Telemetry.refresh()

      assert_raise RuntimeError, "boom", fn ->
        Telemetry.span(:call, %{function: "f"}, fn -> raise "boom" end)
      end

      assert_received {[:wasmex, :call, :start], _, %{telemetry_span_context: ctx}}

      assert_received {[:wasmex, :call, :exception], %{duration: _},
                       %{kind: :error, reason: %RuntimeError{}, stacktrace: [_ | _]} = meta}

      assert %{function: "f", telemetry_span_context: ^ctx} = meta
    end

    test "with no handler: only the function's result" do
      :ok = Telemetry.refresh()
      assert Telemetry.span(:compile, %{}, fn -> {:ok, 1} end) == {:ok, 1}
      refute_received {[:wasmex | _], _, _}
    end
  end
end
