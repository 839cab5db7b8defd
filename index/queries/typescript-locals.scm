; TypeScript scopes, local definitions and type evidence (see python-locals.scm).

[(function_declaration) (function_expression) (arrow_function) (method_definition)
 (generator_function_declaration)] @local.scope
(class_declaration) @local.scope.class

(required_parameter pattern: (identifier) @local.definition type: (type_annotation) @local.type)
(required_parameter pattern: (identifier) @local.definition)
(optional_parameter pattern: (identifier) @local.definition type: (type_annotation) @local.type)
(optional_parameter pattern: (identifier) @local.definition)
(required_parameter pattern: [(object_pattern) (array_pattern)] @local.definition.pattern)
(arrow_function parameter: (identifier) @local.definition)
(variable_declarator name: (identifier) @local.definition type: (type_annotation) @local.type)
(variable_declarator name: (identifier) @local.definition
  value: (new_expression constructor: [(identifier) (member_expression)] @local.constructor))
(variable_declarator name: (identifier) @local.definition)
(variable_declarator name: [(object_pattern) (array_pattern)] @local.definition.pattern)
(for_in_statement left: (identifier) @local.definition)
(catch_clause parameter: (identifier) @local.definition)

(public_field_definition name: (property_identifier) @local.member type: (type_annotation) @local.type)
(public_field_definition name: (property_identifier) @local.member
  value: (new_expression constructor: [(identifier) (member_expression)] @local.constructor))
(required_parameter (accessibility_modifier) pattern: (identifier) @local.member type: (type_annotation) @local.type)
(assignment_expression
  left: (member_expression object: (this) @local.receiver property: (property_identifier) @local.member)
  right: (new_expression constructor: [(identifier) (member_expression)] @local.constructor))
