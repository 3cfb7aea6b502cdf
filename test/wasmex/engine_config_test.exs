defmodule Wasmex.EngineConfigTest do
  use Wasmex.Case, async: true

  alias Wasmex.EngineConfig

  describe "%EngineConfig{}" do
    test "has the 0.15.1 defaults" do
      assert %EngineConfig{
               consume_fuel: false,
               compiler: :cranelift,
               cranelift_opt_level: :none,
               wasm_backtrace_details: false,
               memory64: false,
               wasm_component_model: true,
               debug_info: false,
               cache_dir: nil,
               pooling: nil,
               memory: nil
             } = %EngineConfig{}
    end

    test "has exactly the documented fields" do
      fields = %EngineConfig{} |> Map.from_struct() |> Map.keys() |> Enum.sort()

      assert fields ==
               Enum.sort([
                 :consume_fuel,
                 :cranelift_opt_level,
                 :wasm_backtrace_details,
                 :memory64,
                 :wasm_component_model,
                 :debug_info,
                 :cache_dir,
                 # not in 0.15.1: EngineConfig.pooling/2, memory/2 and compiler/2
                 :pooling,
                 :memory,
                 :compiler
               ])
    end
  end

  describe "consume_fuel/2" do
    test "sets and clears the flag" do
      config = EngineConfig.consume_fuel(%EngineConfig{}, true)
      assert config.consume_fuel == true
      assert EngineConfig.consume_fuel(config, false).consume_fuel == false
    end

    test "leaves the other fields alone" do
      config = EngineConfig.consume_fuel(%EngineConfig{}, true)
      assert %{config | consume_fuel: false} == %EngineConfig{}
    end

    test "rejects a non-boolean" do
      assert_raise FunctionClauseError, fn ->
        EngineConfig.consume_fuel(%EngineConfig{}, "yes")
      end
    end
  end

  describe "compiler/2" do
    test "accepts :cranelift and :winch" do
      assert EngineConfig.compiler(%EngineConfig{}, :winch).compiler == :winch
      config = EngineConfig.compiler(%EngineConfig{consume_fuel: true}, :winch)
      assert %{EngineConfig.compiler(config, :cranelift) | consume_fuel: false} == %EngineConfig{}
    end

    test "rejects anything else, naming the value" do
      for other <- [:llvm, "winch", nil] do
        assert_raise ArgumentError,
                     "compiler must be one of [:cranelift, :winch], got: #{inspect(other)}",
                     fn -> EngineConfig.compiler(%EngineConfig{}, other) end
      end
    end

    test "engines of both compilers are made" do
      for compiler <- [:cranelift, :winch] do
        config = EngineConfig.compiler(%EngineConfig{consume_fuel: true}, compiler)
        assert {:ok, %Wasmex.Engine{}} = Wasmex.Engine.new(config)
      end
    end
  end

  describe "cranelift_opt_level/2" do
    test "accepts :none, :speed and :speed_and_size" do
      for level <- [:none, :speed, :speed_and_size] do
        assert EngineConfig.cranelift_opt_level(%EngineConfig{}, level).cranelift_opt_level ==
                 level
      end
    end

    test "rejects any other level" do
      assert_raise FunctionClauseError, fn ->
        EngineConfig.cranelift_opt_level(%EngineConfig{}, :fast)
      end
    end
  end

  # The boolean setters other than consume_fuel/2: the flag and a value that is not a boolean.
  for {setter, bad} <- [wasm_backtrace_details: 1, memory64: nil] do
    describe "#{setter}/2" do
      test "sets the flag" do
        assert apply(EngineConfig, unquote(setter), [%EngineConfig{}, true])
               |> Map.fetch!(unquote(setter))

        refute apply(EngineConfig, unquote(setter), [%EngineConfig{}, false])
               |> Map.fetch!(unquote(setter))
      end

      test "rejects a non-boolean" do
        assert_raise FunctionClauseError, fn ->
          apply(EngineConfig, unquote(setter), [%EngineConfig{}, unquote(bad)])
        end
      end
    end
  end

  test "setters compose in a pipeline" do
    config =
      %EngineConfig{}
      |> EngineConfig.consume_fuel(true)
      |> EngineConfig.cranelift_opt_level(:speed_and_size)
      |> EngineConfig.wasm_backtrace_details(true)
      |> EngineConfig.memory64(true)

    assert %EngineConfig{
             consume_fuel: true,
             cranelift_opt_level: :speed_and_size,
             wasm_backtrace_details: true,
             memory64: true,
             wasm_component_model: true,
             debug_info: false
           } = config

    assert {:ok, %Wasmex.Engine{}} = Wasmex.Engine.new(config)
  end

  describe "memory/2" do
    test "sets the given sizes, leaves the others nil, and nil goes back to wasmtime's" do
      config = EngineConfig.memory(%EngineConfig{}, reservation: 0, guard_size: 65_536)
      assert config.memory == %{reservation: 0, guard_size: 65_536, reservation_for_growth: nil}
      assert %{config | memory: nil} == %EngineConfig{}
      assert EngineConfig.memory(config, nil) == %EngineConfig{}

      assert EngineConfig.memory(%EngineConfig{}, []).memory ==
               %{reservation: nil, guard_size: nil, reservation_for_growth: nil}
    end

    test "options are checked" do
      assert_raise ArgumentError,
                   "option :reservation must be a non-negative integer or nil, got: -1",
                   fn -> EngineConfig.memory(%EngineConfig{}, reservation: -1) end

      assert_raise ArgumentError,
                   ~s(option :guard_size must be a non-negative integer or nil, got: "0"),
                   fn -> EngineConfig.memory(%EngineConfig{}, guard_size: "0") end

      assert_raise ArgumentError,
                   "option :reservation_for_growth must be a non-negative integer or nil, " <>
                     "got: 18446744073709551616",
                   fn ->
                     EngineConfig.memory(%EngineConfig{},
                       reservation_for_growth: 18_446_744_073_709_551_616
                     )
                   end

      assert_raise ArgumentError, ~r/unknown keys \[:size\]/, fn ->
        EngineConfig.memory(%EngineConfig{}, size: 1)
      end
    end

    test "an engine is made with the sizes" do
      config = EngineConfig.memory(%EngineConfig{}, reservation: 1_048_576, guard_size: 0)
      assert {:ok, %Wasmex.Engine{}} = Wasmex.Engine.new(config)
    end
  end
end
