defmodule Wasmex.Components.FieldConverterTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components
  alias Wasmex.Components.FieldConverter

  defmodule Person do
    @moduledoc false
    defstruct [:first_name, :age_years]
  end

  describe "to_wit/1" do
    test "turns atom keys into kebab-case strings" do
      assert FieldConverter.to_wit(%{first_name: "Ada", age_years: 36, tags: []}) ==
               %{"first-name" => "Ada", "age-years" => 36, "tags" => []}
    end

    test "leaves string keys and other keys alone" do
      assert FieldConverter.to_wit(%{"first_name" => 1, "x-y" => 2, 3 => 4}) ==
               %{"first_name" => 1, "x-y" => 2, 3 => 4}
    end

    test "recurses into map values, lists and tuples" do
      input = %{
        outer_key: %{inner_key: [%{deep_key: {%{in_tuple: 1}, 2}}]}
      }

      assert FieldConverter.to_wit(input) ==
               %{"outer-key" => %{"inner-key" => [%{"deep-key" => {%{"in-tuple" => 1}, 2}}]}}
    end

    test "keeps option, result and variant tags, converting inside them" do
      assert FieldConverter.to_wit({:some, %{a_b: 1}}) == {:some, %{"a-b" => 1}}
      assert FieldConverter.to_wit({:ok, %{a_b: 1}}) == {:ok, %{"a-b" => 1}}
      assert FieldConverter.to_wit({:error, %{a_b: 1}}) == {:error, %{"a-b" => 1}}
      assert FieldConverter.to_wit({:light_blue, %{a_b: 1}}) == {:light_blue, %{"a-b" => 1}}
      assert FieldConverter.to_wit({:circle, 1.0}) == {:circle, 1.0}

      assert FieldConverter.to_wit(%{maybe_points: {:some, [%{x_pos: 1}]}}) ==
               %{"maybe-points" => {:some, [%{"x-pos" => 1}]}}
    end

    test "converts keys, not the atoms and structs under them" do
      person = %Person{first_name: "Ada", age_years: 36}
      assert FieldConverter.to_wit(%{color: :light_blue}) == %{"color" => :light_blue}
      assert FieldConverter.to_wit(%{the_person: person}) == %{"the-person" => person}
    end

    test "a plain list of maps" do
      assert FieldConverter.to_wit([%{a_b: 1}, %{c_d: 2}]) == [%{"a-b" => 1}, %{"c-d" => 2}]
    end
  end

  describe "to_elixir/1" do
    test "turns kebab-case keys (atoms or strings) into snake_case atoms" do
      assert FieldConverter.to_elixir(%{"age-years" => 36, "first-name": "Ada", x: 1}) ==
               %{first_name: "Ada", age_years: 36, x: 1}
    end

    test "recurses into map values, lists and tuples" do
      input = %{
        "maybe-points": {:some, [%{"x-pos": 1, "y-pos": 2}]},
        "pair-of": {%{"a-b" => 1}, "text"}
      }

      assert FieldConverter.to_elixir(input) ==
               %{maybe_points: {:some, [%{x_pos: 1, y_pos: 2}]}, pair_of: {%{a_b: 1}, "text"}}
    end

    test "keeps tags and does not turn string tuple elements into atoms" do
      assert FieldConverter.to_elixir({:ok, %{"a-b" => 1}}) == {:ok, %{a_b: 1}}
      assert FieldConverter.to_elixir({:error, "bad-thing"}) == {:error, "bad-thing"}
      assert FieldConverter.to_elixir({:"light-blue", 1}) == {:"light-blue", 1}
      assert FieldConverter.to_elixir({"some-text", 7}) == {"some-text", 7}
      assert FieldConverter.to_elixir([{"a-b", 1}]) == [{"a-b", 1}]
    end

    test "converts keys, not the atoms and structs under them" do
      person = %Person{first_name: "Ada", age_years: 36}
      assert FieldConverter.to_elixir(%{color: :"light-blue"}) == %{color: :"light-blue"}
      assert FieldConverter.to_elixir(%{"the-person" => person}) == %{the_person: person}
    end

    test "is the inverse of to_wit for snake_case keys" do
      value = %{first_name: "Ada", tags: [%{is_set: true}], maybe: {:some, %{x_y: [1, 2]}}}
      assert value |> FieldConverter.to_wit() |> FieldConverter.to_elixir() == value
    end
  end

  # Both directions leave values (atoms, strings, numbers) and structs alone, at the top and
  # inside lists and tags.
  describe "to_wit/1 and to_elixir/1" do
    for fun <- [:to_wit, :to_elixir] do
      test "#{fun} leaves values (including atoms) alone" do
        for value <- [:none, :light_blue, :"light-blue", "some_string", "a-b", 42, 1.5] do
          assert FieldConverter.unquote(fun)(value) == value
        end
      end

      test "#{fun} leaves structs intact, at the top and nested" do
        person = %Person{first_name: "Ada", age_years: 36}
        assert FieldConverter.unquote(fun)(person) == person
        assert FieldConverter.unquote(fun)([{:some, person}]) == [{:some, person}]
      end
    end
  end

  describe "maybe_convert_args/2" do
    test "converts each argument when true" do
      assert FieldConverter.maybe_convert_args([%{a_b: 1}, {:some, %{c_d: 2}}, 3], true) ==
               [%{"a-b" => 1}, {:some, %{"c-d" => 2}}, 3]
    end

    test "leaves the arguments alone when false" do
      args = [%{a_b: 1}, {:some, %{c_d: 2}}]
      assert FieldConverter.maybe_convert_args(args, false) == args
    end
  end

  describe "maybe_convert_result/2" do
    test "converts an {:ok, value} when true" do
      assert FieldConverter.maybe_convert_result({:ok, %{"a-b" => 1}}, true) == {:ok, %{a_b: 1}}
      assert FieldConverter.maybe_convert_result({:ok, []}, true) == {:ok, []}
    end

    test "leaves results alone when false" do
      assert FieldConverter.maybe_convert_result({:ok, %{"a-b" => 1}}, false) ==
               {:ok, %{"a-b" => 1}}
    end

    test "errors pass through" do
      assert FieldConverter.maybe_convert_result({:error, "some-error"}, true) ==
               {:error, "some-error"}

      assert FieldConverter.maybe_convert_result({:error, :timeout}, true) == {:error, :timeout}
    end
  end

  describe "with a component" do
    test "a snake_case record converted to WIT round-trips through the guest" do
      pid = start_component!("component_types")

      record = %{
        first_name: "Ada",
        age_years: 36,
        tags: ["a"],
        maybe_points: {:some, [%{x: 1, y: 2}]}
      }

      args = FieldConverter.maybe_convert_args([record], true)

      result =
        pid
        |> Components.call_function("echo-kebab-record", args)
        |> FieldConverter.maybe_convert_result(true)

      assert result == {:ok, record}
    end
  end
end
