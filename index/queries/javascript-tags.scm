; JavaScript tags (JSX element references live in jsx-tags.scm).

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function

(class_declaration
  name: (identifier) @name.definition.class) @definition.class

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method) @definition.method

; const f = () => ...; the whole declaration is the definition.
(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.class
    value: (class))) @definition.class

(call_expression
  function: (identifier) @name.reference.call) @reference.call

(call_expression
  function: (member_expression
    property: (property_identifier) @name.reference.call)) @reference.call

(new_expression
  constructor: [(identifier) @name.reference.call
                (member_expression property: (property_identifier) @name.reference.call)]) @reference.call

(class_heritage
  [(identifier) @name.reference.type
   (member_expression property: (property_identifier) @name.reference.type)]) @reference.type

(import_statement
  source: (string (string_fragment) @name.reference.import)) @reference.import

(import_statement
  (import_clause
    [(identifier) @name.reference.import
     (named_imports
       (import_specifier name: (identifier) @name.reference.import))])) @reference.import

(export_statement
  source: (string (string_fragment) @name.reference.import)) @reference.import

((call_expression
   function: (identifier) @_require
   arguments: (arguments (string (string_fragment) @name.reference.import))) @reference.import
 (#eq? @_require "require"))
