defmodule Wasmex.Pool.ReloadTest do
  use ExUnit.Case, async: true

  import Wasmex.PoolTestHelpers

  alias Wasmex.Pool

  describe "reload" do
    @v1 ~S[(module (func (export "v") (result i32) i32.const 1))]
    @v2 ~S[(module (func (export "v") (result i32) i32.const 2))]

    test "calls after reload run the new code; a failed reload keeps the old" do
      pool = start_pool!(bytes: @v1, imports: %{}, size: 2)
      assert Pool.call_function(pool, "v", []) == {:ok, [1]}
      assert Pool.reload(pool, bytes: @v2) == :ok
      assert Pool.call_function(pool, "v", []) == {:ok, [2]}

      assert {:error, "Error while parsing bytes: " <> _} = Pool.reload(pool, bytes: "(module")

      assert {:error, "unknown import: `env::ping` has not been defined"} =
               Pool.reload(pool, bytes: wat())

      assert Pool.reload(pool, path: "/nonexistent/code.wasm") == {:error, :enoent}
      assert Pool.call_function(pool, "v", []) == {:ok, [2]}
    end

    test "from a path, with new imports" do
      pool = start_pool!(bytes: @v1, imports: %{}, size: 2)
      path = Path.join(System.tmp_dir!(), "pool_reload_#{System.unique_integer([:positive])}.wat")
      File.write!(path, wat())
      on_exit(fn -> File.rm(path) end)

      assert Pool.reload(pool, path: path, imports: imports(self())) == :ok
      assert Pool.call_function(pool, "ping", [3]) == {:ok, [30]}
    end

    test "a running call finishes on the old code; the reload waits for nothing" do
      pool = start_pool!([])
      {holder, runner} = hold_member!(pool)
      assert Pool.reload(pool, bytes: @v2) == :ok
      send(runner, :go)
      assert Task.await(holder) == {:ok, [0]}
      assert Pool.call_function(pool, "v", []) == {:ok, [2]}
      eventually(fn -> Pool.stats(pool) |> Map.take([:idle, :busy]) == %{idle: 1, busy: 0} end)
    end

    test "no call fails or is lost while reloads go on" do
      pool = start_pool!(bytes: @v1, imports: %{}, size: 2, max_waiting: 100)

      callers =
        for _ <- 1..8 do
          Task.async(fn ->
            for _ <- 1..200, do: Pool.call_function(pool, "v", [], 5000)
          end)
        end

      for i <- 1..10, do: :ok = Pool.reload(pool, bytes: if(rem(i, 2) == 0, do: @v1, else: @v2))
      results = callers |> Enum.map(&Task.await(&1, 30_000)) |> List.flatten()
      assert length(results) == 1600
      assert Enum.all?(results, &(&1 in [{:ok, [1]}, {:ok, [2]}]))
      assert %{size: 2, idle: 2, busy: 0} = Pool.stats(pool)
    end

    test "watch: true reloads when the :path file changes" do
      path = Path.join(System.tmp_dir!(), "pool_watch_#{System.unique_integer([:positive])}.wat")
      File.write!(path, @v1)
      on_exit(fn -> File.rm(path) end)
      pool = start_pool!(bytes: nil, path: path, imports: %{}, watch: true)
      assert Pool.call_function(pool, "v", []) == {:ok, [1]}

      # A different size, so that a change within the same second is seen too.
      File.write!(path, @v2 <> "\n")
      eventually(fn -> Pool.call_function(pool, "v", []) == {:ok, [2]} end)
    end

    test "fresh pools reload too" do
      pool = start_pool!(bytes: @v1, imports: %{}, fresh: true)
      assert Pool.reload(pool, bytes: @v2) == :ok
      assert Pool.call_function(pool, "v", []) == {:ok, [2]}
    end

    test "restarted members and keeper serve the reloaded code" do
      pool = start_pool!(bytes: @v1, imports: %{}, size: 2)
      :ok = Pool.reload(pool, bytes: @v2)
      kill_keeper(pool)

      killed = members(pool)
      Enum.each(killed, &Process.exit(&1, :kill))

      eventually(fn ->
        members = members(pool) -- killed
        length(members) == 2
      end)

      assert for(_ <- 1..4, do: Pool.call_function(pool, "v", [])) ==
               List.duplicate({:ok, [2]}, 4)
    end

    test "options are checked" do
      pool = start_pool!([])

      assert_raise ArgumentError, ~r/exactly one of :bytes or :path/, fn ->
        Pool.reload(pool, imports: %{})
      end

      assert_raise ArgumentError, ~r/unknown keys \[:size\]/, fn ->
        Pool.reload(pool, bytes: @v1, size: 2)
      end
    end
  end
end
