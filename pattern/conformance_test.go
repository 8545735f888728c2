package pattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The conformance table: each case is a pattern with an event and the
// expected answer, or an invalid pattern with EventBridge's message. Sources:
// "ref §N" is ../shared/reference/eventbridge-patterns.md; D-*, R, Q and LS
// are the documents listed in its §1 (LS names the AWS-validated LocalStack
// fixture; R the event-ruler file whose behaviour is followed).

type confCase struct {
	source  string
	pattern string
	event   string // empty for invalid patterns
	match   bool
	err     string // EventBridge's reason, for invalid patterns
}

// gdEvent is a GuardDuty finding in its EventBridge envelope, shaped like
// the bundled ones (an EC2 finding with tags, interfaces and a remote IP).
const gdEvent = `{"version":"0","id":"c8c4daa7-a20c-2f03-0070-b7393dd542ad","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2024-01-15T10:00:00Z","region":"us-east-1","resources":[],` +
	`"detail":{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","partition":"aws","id":"22bf27df0ab5101cef92ab94e166185b","type":"UnauthorizedAccess:EC2/TorClient","severity":8,"title":"EC2 instance i-0abc is communicating with Tor.",` +
	`"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc","platform":null,"tags":[{"key":"Environment","value":"dev"},{"key":"Team","value":"payments"}],"productCodes":[],` +
	`"networkInterfaces":[{"publicIp":"198.51.100.7","privateIpAddress":"10.0.0.12","ipv6Addresses":["2001:db8::1"],"securityGroups":[{"groupId":"sg-1","groupName":"web"},{"groupId":"sg-2","groupName":"db"}]}]}},` +
	`"service":{"serviceName":"guardduty","action":{"actionType":"NETWORK_CONNECTION","networkConnectionAction":{"connectionDirection":"OUTBOUND","remoteIpDetails":{"ipAddressV4":"81.2.69.144","organization":{"asn":"-1"}},"remotePortDetails":{"port":80,"portName":"HTTP"},"blocked":false}},` +
	`"additionalInfo":{"sample":true,"value":"{\"unusual\":\"port\"}"},"count":4,"archived":false,"eventFirstSeen":"2024-01-15T09:58:00.000Z"},"createdAt":"2024-01-15T09:58:00.000Z","updatedAt":"2024-01-15T10:00:00.000Z"}}`

// d wraps a detail object in the GuardDuty envelope.
func d(detail string) string {
	return `{"version":"0","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","region":"us-east-1","detail":` + detail + `}`
}

// p wraps pattern members for the detail object, with the usual header.
func p(detail string) string {
	return `{"source":["aws.guardduty"],"detail":` + detail + `}`
}

func yes(src, pat, ev string) confCase {
	return confCase{source: src, pattern: pat, event: ev, match: true}
}
func no(src, pat, ev string) confCase {
	return confCase{source: src, pattern: pat, event: ev, match: false}
}
func bad(src, pat, msg string) confCase {
	return confCase{source: src, pattern: pat, err: msg}
}

func conformanceCases() []confCase {
	var cs []confCase
	add := func(c ...confCase) { cs = append(cs, c...) }

	// --- Exact values, AND/OR (ref §3 Pattern structure; D-create) ---
	add(
		yes("ref §3 / D-create", `{"source":["aws.guardduty"]}`, gdEvent),
		no("ref §3 / D-create", `{"source":["aws.ec2"]}`, gdEvent),
		yes("ref §3 OR within list / D-create", `{"source":["aws.ec2","aws.guardduty"]}`, gdEvent),
		yes("ref §3 AND across fields / D-create", `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"]}`, gdEvent),
		no("ref §3 AND across fields / D-create", `{"source":["aws.guardduty"],"detail-type":["AWS API Call via CloudTrail"]}`, gdEvent),
		yes("ref §3 nesting / D-create", p(`{"type":["UnauthorizedAccess:EC2/TorClient"]}`), gdEvent),
		no("ref §3 Strings: byte for byte / D-pat", p(`{"type":["unauthorizedaccess:ec2/torclient"]}`), gdEvent),
		no("ref §3 Strings: no trimming / D-pat", p(`{"type":["UnauthorizedAccess:EC2/TorClient "]}`), gdEvent),
		no("ref §3 field names case-sensitive / LS key_case_sensitive_NEG", `{"Source":["aws.guardduty"]}`, gdEvent),
		no("ref §3 missing field never matches a value / D-create", p(`{"findingCategory":["x"]}`), gdEvent),
		yes("ref §3 deep nesting / D-create", p(`{"resource":{"instanceDetails":{"instanceId":["i-0abc"]}}}`), gdEvent),
		yes("ref §3 deep nesting / D-create", p(`{"service":{"action":{"networkConnectionAction":{"connectionDirection":["OUTBOUND"]}}}}`), gdEvent),
		no("ref §3 object-valued field never matches a value / LS content_exists_NEG", p(`{"resource":["Instance"]}`), gdEvent),
		no("ref §3 string holding JSON is not parsed / LS nested_json_NEG", p(`{"service":{"additionalInfo":{"value":{"unusual":["port"]}}}}`), gdEvent),
		yes("ref §3 string holding JSON compared as a string / LS nested_json_NEG", p(`{"service":{"additionalInfo":{"value":["{\"unusual\":\"port\"}"]}}}`), gdEvent),
		yes("ref §3 escapes compared after unescaping / D-pat", `{"k":["a\"b"]}`, `{"k":"a\u0022b"}`),
		yes("ref §3 unicode escapes / D-pat", `{"k":["é"]}`, `{"k":"\u00e9"}`),
		yes("ref §3 surrogate pair escapes / D-pat", `{"k":["😀"]}`, `{"k":"\ud83d\ude00"}`),
		yes("ref §3 fields outside the pattern are ignored / D-create", `{"detail-type":["GuardDuty Finding"]}`, gdEvent),
		yes("ref §3 many fields / D-create", p(`{"accountId":["123456789012"],"region":["us-east-1"],"partition":["aws"],"resource":{"resourceType":["Instance"]}}`), gdEvent),
		no("ref §3 many fields, one differs / D-create", p(`{"accountId":["123456789012"],"region":["eu-west-1"],"partition":["aws"]}`), gdEvent),
		yes("ref §3 account id as a string / D-gd", `{"account":["123456789012"]}`, gdEvent),
		no("ref §3 a string never equals a number / D-pat", `{"account":[123456789012]}`, gdEvent),
	)

	// --- Numbers, booleans, null, empty string (ref §3 Numbers, null; note 1; D-null) ---
	add(
		yes("ref §3 Numbers / D-pat", p(`{"severity":[8]}`), gdEvent),
		no("ref §3 Numbers / D-pat", p(`{"severity":[5]}`), gdEvent),
		yes("ref note 1 numeric equality / LS number_comparison_float", p(`{"severity":[8.0]}`), gdEvent),
		yes("ref note 1 numeric equality / LS number_comparison_float", p(`{"severity":[8e0]}`), gdEvent),
		yes("ref note 1 numeric equality / LS number_comparison_float", `{"number":[300]}`, `{"number":300.0}`),
		yes("ref note 1 numeric equality / LS number_comparison_float", `{"number":[3.0e2]}`, `{"number":300}`),
		yes("ref note 1 exact text for non-double-representable / R JsonRuleCompiler", `{"id":[123456789012345678]}`, `{"id":123456789012345678}`),
		no("ref note 1 / R JsonRuleCompiler", `{"id":[123456789012345678]}`, `{"id":123456789012345679}`),
		no("ref §3 string never equals number / LS numeric-string_NEG", p(`{"severity":["8"]}`), gdEvent),
		no("ref §3 number never equals string / D-pat", `{"port":[80]}`, `{"port":"80"}`),
		yes("ref §3 numbers inside arrays / D-arr", `{"ports":[443]}`, `{"ports":[80,443]}`),
		yes("ref §3 negative numbers / D-pat", `{"lat":[-33.5]}`, `{"lat":-33.50}`),
		yes("ref §3 zero / D-pat", `{"lat":[0]}`, `{"lat":-0.0}`),
		yes("ref §3 booleans / D-pat", p(`{"service":{"additionalInfo":{"sample":[true]}}}`), gdEvent),
		no("ref §3 booleans / LS boolean_NEG", p(`{"service":{"additionalInfo":{"sample":[false]}}}`), gdEvent),
		no("ref §3 booleans are not strings / LS boolean_NEG", p(`{"service":{"additionalInfo":{"sample":["true"]}}}`), gdEvent),
		yes("ref §3 booleans / D-pat", p(`{"service":{"archived":[false]}}`), gdEvent),
		yes("ref §3 null / D-null", p(`{"resource":{"instanceDetails":{"platform":[null]}}}`), gdEvent),
		no("ref §3 null is not the string null / LS null_value_NEG", p(`{"resource":{"instanceDetails":{"platform":["null"]}}}`), gdEvent),
		no("ref §3 null does not match a missing field / LS arrays_empty_null_NEG", p(`{"resource":{"instanceDetails":{"kernelId":[null]}}}`), gdEvent),
		no("ref §3 null does not match a value / D-null", p(`{"type":[null]}`), gdEvent),
		yes("ref §3 empty string / D-null", `{"k":[""]}`, `{"k":""}`),
		no("ref §3 empty string is not null / D-null", `{"k":[""]}`, `{"k":null}`),
		no("ref §3 null is not the empty string / D-null", `{"k":[null]}`, `{"k":""}`),
		no("ref §3 empty string matches only empty / LS string_empty", `{"k":[""]}`, `{"k":" "}`),
		yes("ref §3 mixed value list / D-create", p(`{"severity":["high",8,null]}`), gdEvent),
		yes("ref §3 null in an array / D-arr", `{"k":[null]}`, `{"k":["a",null]}`),
	)

	// --- Arrays (ref §3 Arrays; D-arr; note 2) ---
	add(
		yes("ref §3 Arrays any element / D-arr", `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`, `{"resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x","arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`),
		no("ref §3 Arrays intersection empty / D-arr", `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-x"]}`, `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`),
		yes("ref §3 Arrays objects crushed / D-arr", p(`{"resource":{"instanceDetails":{"tags":{"key":["Team"]}}}}`), gdEvent),
		yes("ref §3 Arrays objects crushed / D-arr", p(`{"resource":{"instanceDetails":{"tags":{"value":["payments"]}}}}`), gdEvent),
		yes("ref note 2 same element / R README JSON Array Matching", p(`{"resource":{"instanceDetails":{"tags":{"key":["Team"],"value":["payments"]}}}}`), gdEvent),
		no("ref note 2 array consistency / R README JSON Array Matching", p(`{"resource":{"instanceDetails":{"tags":{"key":["Environment"],"value":["payments"]}}}}`), gdEvent),
		no("ref note 2 array consistency / R README JSON Array Matching", p(`{"resource":{"instanceDetails":{"tags":{"key":["Team"],"value":["dev"]}}}}`), gdEvent),
		yes("ref note 2 same element, OR lists / R README", p(`{"resource":{"instanceDetails":{"tags":{"key":["Environment","Team"],"value":["payments"]}}}}`), gdEvent),
		yes("ref §3 nested arrays flattened / D-arr", `{"k":["x"]}`, `{"k":[["a",["x"]],"b"]}`),
		yes("ref §3 arrays of arrays of objects / D-arr", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"securityGroups":{"groupName":["db"]}}}}}`), gdEvent),
		yes("ref note 2 nested arrays same element / R README", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"securityGroups":{"groupId":["sg-2"],"groupName":["db"]}}}}}`), gdEvent),
		no("ref note 2 nested arrays different elements / R README", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"securityGroups":{"groupId":["sg-1"],"groupName":["db"]}}}}}`), gdEvent),
		yes("ref note 2 array field with non-array field / R README", p(`{"resource":{"resourceType":["Instance"],"instanceDetails":{"tags":{"key":["Team"]}}}}`), gdEvent),
		yes("ref note 2 outer element shared / R README", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"publicIp":["198.51.100.7"],"securityGroups":{"groupName":["web"]}}}}}`), gdEvent),
		yes("ref §3 array of scalars / D-arr", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"ipv6Addresses":["2001:db8::1"]}}}}`), gdEvent),
		no("ref §3 empty array has no values / LS arrays_empty_null_NEG", p(`{"resource":{"instanceDetails":{"productCodes":[null]}}}`), gdEvent),
		no("ref §3 empty array has no values / D-arr", `{"resources":[""]}`, gdEvent),
		yes("ref note 2 elements of different arrays are independent / R README", `{"a":{"x":["1"]},"b":{"y":["2"]}}`, `{"a":[{"x":"1"},{"x":"0"}],"b":[{"y":"0"},{"y":"2"}]}`),
		no("ref note 2 three fields, one inconsistent / R README", `{"t":{"a":["1"],"b":["2"],"c":["3"]}}`, `{"t":[{"a":"1","b":"2"},{"c":"3"}]}`),
		yes("ref note 2 three fields consistent / R README", `{"t":{"a":["1"],"b":["2"],"c":["3"]}}`, `{"t":[{"a":"1","b":"2"},{"a":"1","b":"2","c":"3"}]}`),
		yes("ref §3 array of objects with array values / D-arr", `{"t":{"v":["b"]}}`, `{"t":[{"v":["a","b"]}]}`),
		yes("ref §3 pattern array vs scalar event / D-arr", `{"k":["a","b","c"]}`, `{"k":"b"}`),
	)

	// --- prefix / suffix (ref §3 prefix/suffix; D-ops) ---
	add(
		yes("ref §3 prefix / D-ops eb-filtering-prefix-matching", p(`{"type":[{"prefix":"UnauthorizedAccess:"}]}`), gdEvent),
		yes("ref §3 prefix / D-ops", p(`{"type":[{"prefix":"UnauthorizedAccess:EC2/"}]}`), gdEvent),
		no("ref §3 prefix / D-ops", p(`{"type":[{"prefix":"Recon:"}]}`), gdEvent),
		no("ref §3 prefix case-sensitive / D-ops", p(`{"type":[{"prefix":"unauthorizedaccess:"}]}`), gdEvent),
		yes("ref §3 prefix of whole value / D-ops", p(`{"type":[{"prefix":"UnauthorizedAccess:EC2/TorClient"}]}`), gdEvent),
		no("ref §3 prefix longer than value / D-ops", p(`{"type":[{"prefix":"UnauthorizedAccess:EC2/TorClient2"}]}`), gdEvent),
		yes("ref §3 empty prefix matches every string / LS content_prefix_empty", p(`{"type":[{"prefix":""}]}`), gdEvent),
		no("ref §3 prefix never matches numbers / ref §3 prefix", p(`{"severity":[{"prefix":"8"}]}`), gdEvent),
		no("ref §3 empty prefix never matches numbers / ref §3 prefix", p(`{"severity":[{"prefix":""}]}`), gdEvent),
		no("ref §3 prefix never matches null / ref §3 prefix", p(`{"resource":{"instanceDetails":{"platform":[{"prefix":""}]}}}`), gdEvent),
		yes("ref §3 prefix in arrays / D-arr", `{"resources":[{"prefix":"arn:aws:ec2:"}]}`, `{"resources":["arn:aws:s3:::b","arn:aws:ec2:us-east-1:1:instance/i-1"]}`),
		yes("ref §3 several prefixes OR / D-ops", p(`{"type":[{"prefix":"Recon:"},{"prefix":"UnauthorizedAccess:"}]}`), gdEvent),
		yes("ref §3 prefix with time / D-ops", `{"time":[{"prefix":"2024-01-15"}]}`, gdEvent),
		yes("ref §3 suffix / D-ops eb-filtering-suffix-matching", p(`{"type":[{"suffix":"/TorClient"}]}`), gdEvent),
		no("ref §3 suffix / D-ops", p(`{"type":[{"suffix":"/TorRelay"}]}`), gdEvent),
		no("ref §3 suffix case-sensitive / D-ops", p(`{"type":[{"suffix":"torclient"}]}`), gdEvent),
		yes("ref §3 empty suffix matches every string / LS content_suffix_empty", p(`{"type":[{"suffix":""}]}`), gdEvent),
		no("ref §3 suffix never matches numbers / ref §3", p(`{"severity":[{"suffix":"8"}]}`), gdEvent),
		yes("ref §3 suffix .Custom / D-ops", `{"detail":{"type":[{"suffix":".Custom"}]}}`, d(`{"type":"Recon:IAMUser/MaliciousIPCaller.Custom"}`)),
		yes("ref §3 prefix equals-ignore-case / D-ops", p(`{"type":[{"prefix":{"equals-ignore-case":"unauthorizedaccess:ec2/"}}]}`), gdEvent),
		no("ref §3 prefix equals-ignore-case / D-ops", p(`{"type":[{"prefix":{"equals-ignore-case":"recon:"}}]}`), gdEvent),
		yes("ref §3 suffix equals-ignore-case / D-ops", p(`{"type":[{"suffix":{"equals-ignore-case":"TORCLIENT"}}]}`), gdEvent),
		no("ref §3 suffix equals-ignore-case / D-ops", p(`{"type":[{"suffix":{"equals-ignore-case":"TORRELAY"}}]}`), gdEvent),
		yes("ref §3 prefix ignore-case on the FileName example / D-ops", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, `{"detail":{"FileName":"IMG.PNG"}}`),
		yes("ref §3 prefix ignore-case service example / D-ops", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"eventbridge"}}`),
		no("ref §3 prefix ignore-case never matches numbers / ref §3", `{"n":[{"prefix":{"equals-ignore-case":"1"}}]}`, `{"n":12}`),
	)

	// --- equals-ignore-case (ref §3 equals-ignore-case; D-ops) ---
	add(
		yes("ref §3 equals-ignore-case / LS content_ignorecase", p(`{"resource":{"resourceType":[{"equals-ignore-case":"instance"}]}}`), gdEvent),
		yes("ref §3 equals-ignore-case / LS content_ignorecase", p(`{"resource":{"resourceType":[{"equals-ignore-case":"INSTANCE"}]}}`), gdEvent),
		no("ref §3 equals-ignore-case / LS content_ignorecase_NEG", p(`{"resource":{"resourceType":[{"equals-ignore-case":"instances"}]}}`), gdEvent),
		yes("ref §3 equals-ignore-case empty matches empty / LS content_ignorecase_empty", `{"k":[{"equals-ignore-case":""}]}`, `{"k":""}`),
		no("ref §3 equals-ignore-case empty / LS content_ignorecase_empty_NEG", `{"k":[{"equals-ignore-case":""}]}`, `{"k":"a"}`),
		yes("ref §3 equals-ignore-case folds non-ASCII / R, Q", `{"k":[{"equals-ignore-case":"ÉTÉ"}]}`, `{"k":"été"}`),
		no("ref §3 equals-ignore-case strings only / ref §3", `{"k":[{"equals-ignore-case":"8"}]}`, `{"k":8}`),
		yes("ref §3 equals-ignore-case detail-type / LS content_ignorecase", `{"detail-type":[{"equals-ignore-case":"guardduty finding"}]}`, gdEvent),
		yes("ref §3 equals-ignore-case in arrays / D-arr", `{"k":[{"equals-ignore-case":"B"}]}`, `{"k":["a","b"]}`),
	)

	// --- wildcard (ref note 3; D-ops; D-blog) ---
	add(
		yes("ref note 3 wildcard / D-ops eb-filtering-wildcard-matching", p(`{"type":[{"wildcard":"*:EC2/*"}]}`), gdEvent),
		yes("ref note 3 wildcard / D-blog", p(`{"type":[{"wildcard":"*Tor*"}]}`), gdEvent),
		no("ref note 3 wildcard whole value / D-blog", p(`{"type":[{"wildcard":"*Tor"}]}`), gdEvent),
		yes("ref note 3 star matches zero characters / D-blog", p(`{"type":[{"wildcard":"UnauthorizedAccess:EC2/TorClient*"}]}`), gdEvent),
		yes("ref note 3 several stars / D-blog", p(`{"type":[{"wildcard":"Unauthorized*:*/Tor*"}]}`), gdEvent),
		no("ref note 3 case-sensitive / D-blog", p(`{"type":[{"wildcard":"*tor*"}]}`), gdEvent),
		yes("ref note 3 no star is exact / D-blog", p(`{"type":[{"wildcard":"UnauthorizedAccess:EC2/TorClient"}]}`), gdEvent),
		no("ref note 3 no star is exact / D-blog", p(`{"type":[{"wildcard":"UnauthorizedAccess:EC2/Tor"}]}`), gdEvent),
		yes("ref note 3 escaped star is literal / D-cbf", `{"k":[{"wildcard":"a\\*b"}]}`, `{"k":"a*b"}`),
		no("ref note 3 escaped star is literal / D-cbf", `{"k":[{"wildcard":"a\\*b"}]}`, `{"k":"axxb"}`),
		yes("ref note 3 escaped backslash / D-cbf", `{"k":[{"wildcard":"a\\\\*"}]}`, `{"k":"a\\bc"}`),
		yes("ref note 3 question mark is literal / R README", `{"k":[{"wildcard":"a?c"}]}`, `{"k":"a?c"}`),
		no("ref note 3 question mark is literal / R README", `{"k":[{"wildcard":"a?c"}]}`, `{"k":"abc"}`),
		yes("ref §3 wildcard empty matches empty / LS content_wildcard_empty_NEG", `{"k":[{"wildcard":""}]}`, `{"k":""}`),
		no("ref §3 wildcard empty / LS content_wildcard_empty_NEG", `{"k":[{"wildcard":""}]}`, `{"k":"a"}`),
		no("ref §3 wildcard never matches numbers / ref §3 wildcard", `{"k":[{"wildcard":"*"}]}`, `{"k":5}`),
		yes("ref §3 lone star matches every string / D-blog", `{"k":[{"wildcard":"*"}]}`, `{"k":"anything"}`),
		yes("ref note 3 repeating sequence after star / LS content_wildcard_repeating", `{"FileName":[{"wildcard":"/Users/*/dir/dir/dir/dir/dir/doc.txt"}]}`, `{"FileName":"/Users/ls_user/dir/dir/dir/dir/dir/doc.txt"}`),
		no("ref note 3 repeating sequence / LS content_wildcard_repeating_NEG", `{"FileName":[{"wildcard":"/Users/*/dir/dir/dir/dir/dir/doc.txt"}]}`, `{"FileName":"/Users/ls_user/dir/dir/dir/dir/doc.txt"}`),
		yes("ref note 3 non-repeating / LS content_wildcard_nonrepeating", `{"FileName":[{"wildcard":"/Users/*/doc.txt"}]}`, `{"FileName":"/Users/ls_user/dir/dir/dir/dir/dir/doc.txt"}`),
		yes("ref note 3 ARN wildcard / D-ops", `{"resources":[{"wildcard":"arn:aws:ec2:*:123456789012:instance/*"}]}`, `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]}`),
		yes("ref note 3 wildcard in arrays / D-arr", p(`{"resource":{"instanceDetails":{"tags":{"value":[{"wildcard":"pay*"}]}}}}`), gdEvent),
		yes("ref note 3 overlapping parts / D-blog", `{"k":[{"wildcard":"*ab*ab*"}]}`, `{"k":"xabab"}`),
		no("ref note 3 overlapping parts / D-blog", `{"k":[{"wildcard":"*ab*ab*"}]}`, `{"k":"xaba"}`),
		yes("ref note 3 star then suffix / D-blog", `{"k":[{"wildcard":"*.png"}]}`, `{"k":"a.png"}`),
		no("ref note 3 prefix and suffix overlap / D-blog", `{"k":[{"wildcard":"ab*ba"}]}`, `{"k":"aba"}`),
		yes("ref note 3 prefix and suffix / D-blog", `{"k":[{"wildcard":"ab*ba"}]}`, `{"k":"abba"}`),
	)

	// --- anything-but (ref §3 anything-but; D-ops; LS) ---
	add(
		yes("ref §3 anything-but string / LS content_anything_but_string", p(`{"region":[{"anything-but":"eu-west-1"}]}`), gdEvent),
		no("ref §3 anything-but string / LS content_anything_but_string_NEG", p(`{"region":[{"anything-but":"us-east-1"}]}`), gdEvent),
		yes("ref §3 anything-but list / LS content_anything_but_string_list", p(`{"region":[{"anything-but":["eu-west-1","ap-south-1"]}]}`), gdEvent),
		no("ref §3 anything-but list / LS content_anything_but_string_list_NEG", p(`{"region":[{"anything-but":["eu-west-1","us-east-1"]}]}`), gdEvent),
		yes("ref §3 anything-but number / LS content_anything_but_number", p(`{"severity":[{"anything-but":5}]}`), gdEvent),
		no("ref §3 anything-but number / LS content_anything_but_number_NEG", p(`{"severity":[{"anything-but":8}]}`), gdEvent),
		no("ref §3 anything-but number is numeric / note 1", p(`{"severity":[{"anything-but":8.0}]}`), gdEvent),
		yes("ref §3 anything-but number list / LS content_anything_but_number_list", p(`{"severity":[{"anything-but":[2,5]}]}`), gdEvent),
		no("ref §3 anything-but number list / LS content_anything_but_number_list_NEG", p(`{"severity":[{"anything-but":[5,8]}]}`), gdEvent),
		yes("ref §3 anything-but zero / LS content_anything_but_number_zero", `{"n":[{"anything-but":0}]}`, `{"n":1}`),
		no("ref §3 anything-but zero / LS content_anything_but_number_zero", `{"n":[{"anything-but":0}]}`, `{"n":0.0}`),
		no("ref §3 anything-but missing field / LS content_anything_but_string_missing_NEG", p(`{"findingCategory":[{"anything-but":"x"}]}`), gdEvent),
		no("ref §3 anything-but list missing field / LS content_anything_but_string_list_missing_NEG", p(`{"findingCategory":[{"anything-but":["x","y"]}]}`), gdEvent),
		yes("ref §3 anything-but null value matches / LS content_anything_but_string_null", p(`{"resource":{"instanceDetails":{"platform":[{"anything-but":"windows"}]}}}`), gdEvent),
		yes("ref §3 anything-but list null value / LS content_anything_but_string_list_null", p(`{"resource":{"instanceDetails":{"platform":[{"anything-but":["windows","linux"]}]}}}`), gdEvent),
		yes("ref §3 anything-but other type not excluded / ref §3", p(`{"severity":[{"anything-but":"8"}]}`), gdEvent),
		yes("ref §3 anything-but number vs string value / ref §3", `{"port":[{"anything-but":80}]}`, `{"port":"80"}`),
		yes("ref §3 anything-but per element / ref §3 anything-but", p(`{"resource":{"instanceDetails":{"tags":{"key":[{"anything-but":"Team"}]}}}}`), gdEvent),
		no("ref §3 anything-but all elements excluded / ref §3 anything-but", p(`{"resource":{"instanceDetails":{"tags":{"key":[{"anything-but":["Team","Environment"]}]}}}}`), gdEvent),
		no("ref §3 anything-but empty array has no values / ref §3 Arrays", p(`{"resource":{"instanceDetails":{"productCodes":[{"anything-but":"x"}]}}}`), gdEvent),
		yes("ref §3 anything-but boolean value not excluded / ref §3", p(`{"service":{"archived":[{"anything-but":"false"}]}}`), gdEvent),
		yes("ref §3 anything-but prefix / LS content_anything_prefix", p(`{"type":[{"anything-but":{"prefix":"Recon:"}}]}`), gdEvent),
		no("ref §3 anything-but prefix / LS content_anything_prefix_NEG", p(`{"type":[{"anything-but":{"prefix":"Unauthorized"}}]}`), gdEvent),
		yes("ref §3 anything-but prefix list / LS content_anything_prefix_list", p(`{"type":[{"anything-but":{"prefix":["Recon:","Policy:"]}}]}`), gdEvent),
		no("ref §3 anything-but prefix list / LS content_anything_prefix_list_NEG", p(`{"type":[{"anything-but":{"prefix":["Recon:","Unauthorized"]}}]}`), gdEvent),
		yes("ref §3 anything-but prefix on a number / LS content_anything_prefix_int_value", `{"n":[{"anything-but":{"prefix":"1"}}]}`, `{"n":12}`),
		no("ref §3 anything-but prefix missing / LS content_anything_prefix_missing_NEG", `{"n":[{"anything-but":{"prefix":"a"}}]}`, `{"m":"b"}`),
		yes("ref §3 anything-but prefix null / LS content_anything_prefix_null", `{"n":[{"anything-but":{"prefix":"a"}}]}`, `{"n":null}`),
		yes("ref §3 anything-but suffix / LS content_anything_suffix", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.txt"}`),
		no("ref §3 anything-but suffix / LS content_anything_suffix_NEG", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.png"}`),
		yes("ref §3 anything-but suffix list / LS content_anything_suffix_list", `{"FileName":[{"anything-but":{"suffix":[".png",".jpg"]}}]}`, `{"FileName":"a.txt"}`),
		no("ref §3 anything-but suffix list / LS content_anything_suffix_list_NEG", `{"FileName":[{"anything-but":{"suffix":[".png",".txt"]}}]}`, `{"FileName":"a.txt"}`),
		yes("ref §3 anything-but suffix null / LS content_anything_suffix_null", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":null}`),
		no("ref §3 anything-but suffix missing / LS content_anything_suffix_missing_NEG", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"Other":"a"}`),
		yes("ref §3 anything-but equals-ignore-case / LS content_anything_but_ignorecase", `{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}`, `{"state":"running"}`),
		no("ref §3 anything-but equals-ignore-case / LS content_anything_but_ignorecase_NEG", `{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}`, `{"state":"INITIALIZING"}`),
		yes("ref §3 anything-but equals-ignore-case list / LS content_anything_but_ignorecase_list", `{"state":[{"anything-but":{"equals-ignore-case":["a","b"]}}]}`, `{"state":"c"}`),
		no("ref §3 anything-but equals-ignore-case list / LS content_anything_but_ignorecase_list_NEG", `{"state":[{"anything-but":{"equals-ignore-case":["a","b"]}}]}`, `{"state":"B"}`),
		yes("ref §3 anything-but equals-ignore-case null / LS content_anything_but_ignorecase_null", `{"state":[{"anything-but":{"equals-ignore-case":"a"}}]}`, `{"state":null}`),
		no("ref §3 anything-but equals-ignore-case missing / LS content_anything_but_ignorecase_missing_NEG", `{"state":[{"anything-but":{"equals-ignore-case":"a"}}]}`, `{}`),
		yes("ref §3 anything-but wildcard / LS content_anything_wildcard", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/bin/x"}`),
		no("ref §3 anything-but wildcard / LS content_anything_wildcard_NEG", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/lib/x"}`),
		yes("ref §3 anything-but wildcard list / LS content_anything_wildcard_list", `{"FilePath":[{"anything-but":{"wildcard":["*/lib/*","*/bin/*"]}}]}`, `{"FilePath":"/etc/x"}`),
		no("ref §3 anything-but wildcard list / LS content_anything_wildcard_list_NEG", `{"FilePath":[{"anything-but":{"wildcard":["*/lib/*","*/bin/*"]}}]}`, `{"FilePath":"/usr/bin/x"}`),
		yes("ref §3 anything-but wildcard null / LS content_anything_wildcard_null", `{"FilePath":[{"anything-but":{"wildcard":"*"}}]}`, `{"FilePath":null}`),
		yes("ref §3 anything-but wildcard on number / LS content_anything_wildcard_int", `{"FilePath":[{"anything-but":{"wildcard":"*"}}]}`, `{"FilePath":5}`),
		no("ref §3 anything-but wildcard missing / LS content_anything_wildcard_missing_NEG", `{"FilePath":[{"anything-but":{"wildcard":"*"}}]}`, `{}`),
		yes("ref §3 anything-but wildcard empty / LS content_anything_wildcard_empty", `{"FilePath":[{"anything-but":{"wildcard":""}}]}`, `{"FilePath":"x"}`),
		no("ref §3 anything-but wildcard empty / LS content_anything_wildcard_empty", `{"FilePath":[{"anything-but":{"wildcard":""}}]}`, `{"FilePath":""}`),
		yes("ref §3 anything-but prefix empty list excludes nothing / R JsonRuleCompiler", `{"k":[{"anything-but":{"prefix":[]}}]}`, `{"k":"a"}`),
		yes("ref §3 anything-but with other values OR / LS operator_multiple_list", `{"k":[{"anything-but":"a"},"a"]}`, `{"k":"a"}`),
		yes("ref §3 or-anything-but / LS or-anything-but", `{"$or":[{"a":[{"anything-but":"x"}]},{"b":["y"]}]}`, `{"a":"x","b":"y"}`),
	)

	// --- numeric (ref §3 numeric; note 4; D-ops) ---
	type numCase struct {
		expr string
		v    string
		want bool
	}
	for _, n := range []numCase{
		{`["=",8]`, `8`, true}, {`["=",8]`, `8.0`, true}, {`["=",8]`, `8.5`, false},
		{`["<",8]`, `7.9`, true}, {`["<",8]`, `8`, false}, {`["<=",8]`, `8`, true}, {`["<=",8]`, `8.1`, false},
		{`[">",7]`, `8`, true}, {`[">",8]`, `8`, false}, {`[">=",8]`, `8`, true}, {`[">=",8.1]`, `8`, false},
		{`[">",0,"<=",5]`, `5`, true}, {`[">",0,"<=",5]`, `0`, false}, {`[">",0,"<=",5]`, `5.000001`, false},
		{`[">=",7,"<",9]`, `7`, true}, {`[">=",7,"<",9]`, `8.9`, true}, {`[">=",7,"<",9]`, `9`, false},
		{`[">=",4,"<",7]`, `3.9`, false}, {`[">",-10,"<",-5]`, `-7.5`, true}, {`["<",0]`, `-1e3`, true},
		{`[">",1e2]`, `101`, true}, {`[">",1e2]`, `1E2`, false}, {`["=",3.018e2]`, `301.8`, true},
		{`[">=",-5e9]`, `-5000000000`, true}, {`["<=",5e9]`, `5000000000`, true},
		{`[">",0]`, `0.000001`, true}, {`[">",0]`, `6e9`, false},
	} {
		add(confCase{source: "ref §3 numeric / D-ops eb-filtering-numeric-matching", pattern: `{"detail":{"severity":[{"numeric":` + n.expr + `}]}}`, event: d(`{"severity":` + n.v + `}`), match: n.want})
	}
	add(
		no("ref note 4 only JSON numbers / LS numeric-string_NEG", `{"n":[{"numeric":[">",0]}]}`, `{"n":"8"}`),
		no("ref note 4 null never numeric / LS numeric-null_NEG", `{"n":[{"numeric":[">",0]}]}`, `{"n":null}`),
		no("ref note 4 booleans never numeric / ref note 4", `{"n":[{"numeric":[">",0]}]}`, `{"n":true}`),
		yes("ref §3 numeric int and float / LS numeric-int-float", `{"n":[{"numeric":["=",5]}]}`, `{"n":5.0}`),
		yes("ref §3 numeric AND of two / LS content_numeric_and", `{"a":[{"numeric":[">",0]}],"b":[{"numeric":["<",10]}]}`, `{"a":1,"b":9}`),
		no("ref §3 numeric AND of two / LS content_numeric_and_NEG", `{"a":[{"numeric":[">",0]}],"b":[{"numeric":["<",10]}]}`, `{"a":1,"b":10}`),
		yes("ref §3 numeric OR of two / D-ops", `{"n":[{"numeric":["<",0]},{"numeric":[">",100]}]}`, `{"n":101}`),
		no("ref §3 numeric OR of two / D-ops", `{"n":[{"numeric":["<",0]},{"numeric":[">",100]}]}`, `{"n":50}`),
		yes("ref §3 numeric in arrays / D-arr", `{"n":[{"numeric":[">",100]}]}`, `{"n":[1,200]}`),
		yes("ref §3 or-numeric-anything-but / LS or-numeric-anything-but", `{"n":[{"numeric":[">",100]},{"anything-but":50}]}`, `{"n":20}`),
		no("ref §3 or-numeric-anything-but / LS or-numeric-anything-but_NEG", `{"n":[{"numeric":[">",100]},{"anything-but":50}]}`, `{"n":50}`),
		yes("ref §3 numeric port of remote / D-gd", p(`{"service":{"action":{"networkConnectionAction":{"remotePortDetails":{"port":[{"numeric":["<",1024]}]}}}}}`), gdEvent),
		yes("ref §3 numeric six decimal digits / note 4", `{"n":[{"numeric":["=",0.1]}]}`, `{"n":0.1000001}`),
		yes("ref §3 numeric count / D-gd", p(`{"service":{"count":[{"numeric":[">=",3]}]}}`), gdEvent),
	)

	// --- exists (ref §3 exists; D-ops) ---
	add(
		yes("ref §3 exists true / LS content_exists", p(`{"service":{"additionalInfo":{"sample":[{"exists":true}]}}}`), gdEvent),
		no("ref §3 exists true / LS content_exists_NEG", p(`{"service":{"additionalInfo":{"unknown":[{"exists":true}]}}}`), gdEvent),
		yes("ref §3 exists false / LS content_exists_false", p(`{"service":{"additionalInfo":{"unknown":[{"exists":false}]}}}`), gdEvent),
		no("ref §3 exists false / LS content_exists_false_NEG", p(`{"service":{"additionalInfo":{"sample":[{"exists":false}]}}}`), gdEvent),
		no("ref §3 exists true not on objects / LS exists_dynamodb_NEG", p(`{"resource":{"instanceDetails":[{"exists":true}]}}`), gdEvent),
		yes("ref §3 exists false on object-valued field / R README", p(`{"resource":{"instanceDetails":[{"exists":false}]}}`), gdEvent),
		yes("ref §3 exists true on null / R (ambiguous)", p(`{"resource":{"instanceDetails":{"platform":[{"exists":true}]}}}`), gdEvent),
		no("ref §3 exists true on empty array / LS exists_list_empty_NEG", p(`{"resource":{"instanceDetails":{"productCodes":[{"exists":true}]}}}`), gdEvent),
		yes("ref §3 exists false on empty array / Q PATTERNS.md", p(`{"resource":{"instanceDetails":{"productCodes":[{"exists":false}]}}}`), gdEvent),
		yes("ref §3 exists false parent missing / LS content_exists_false", p(`{"resource":{"accessKeyDetails":{"userName":[{"exists":false}]}}}`), gdEvent),
		yes("ref §3 exists true in arrays / D-arr", p(`{"resource":{"instanceDetails":{"tags":{"key":[{"exists":true}]}}}}`), gdEvent),
		yes("ref §3 exists combined / LS or-exists", `{"k":[{"anything-but":["roses"]},{"exists":false}]}`, `{"j":1}`),
		yes("ref §3 exists combined / LS or-exists", `{"k":[{"anything-but":["roses"]},{"exists":false}]}`, `{"k":"tulips"}`),
		no("ref §3 exists combined / LS or-exists", `{"k":[{"anything-but":["roses"]},{"exists":false}]}`, `{"k":"roses"}`),
		yes("ref §3 exists false with parent missing in $or / LS or-exists-parent", `{"$or":[{"a":{"b":[{"exists":false}]}},{"c":["x"]}]}`, `{"c":"y"}`),
		yes("ref §3 exists true on false / D-ops", p(`{"service":{"archived":[{"exists":true}]}}`), gdEvent),
		yes("ref §3 exists both / D-ops", `{"k":[{"exists":true},{"exists":false}]}`, `{}`),
		yes("ref §3 exists false AND value / D-ops", p(`{"type":[{"prefix":"Unauthorized"}],"service":{"additionalInfo":{"unknown":[{"exists":false}]}}}`), gdEvent),
		yes("ref §3 exists on top-level / D-ops", `{"detail":{"severity":[{"exists":true}]},"resources":[{"exists":false}]}`, gdEvent),
	)

	// --- cidr / IP addresses (ref §3 cidr; note 6; D-ops) ---
	add(
		yes("ref §3 cidr IPv4 / LS content_ip_address", p(`{"service":{"action":{"networkConnectionAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":"81.2.69.0/24"}]}}}}}`), gdEvent),
		no("ref §3 cidr IPv4 / LS content_ip_address_NEG", p(`{"service":{"action":{"networkConnectionAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":"81.2.70.0/24"}]}}}}}`), gdEvent),
		yes("ref §3 cidr /8 / D-ops", p(`{"service":{"action":{"networkConnectionAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":"81.0.0.0/8"}]}}}}}`), gdEvent),
		yes("ref note 6 host bits masked off / R CIDR.java", p(`{"service":{"action":{"networkConnectionAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":"81.2.69.200/24"}]}}}}}`), gdEvent),
		yes("ref §3 cidr /0 / R CIDR.java", `{"ip":[{"cidr":"0.0.0.0/0"}]}`, `{"ip":"255.255.255.255"}`),
		yes("ref §3 cidr /31 / R CIDR.java", `{"ip":[{"cidr":"10.0.0.0/31"}]}`, `{"ip":"10.0.0.1"}`),
		no("ref §3 cidr /31 / R CIDR.java", `{"ip":[{"cidr":"10.0.0.0/31"}]}`, `{"ip":"10.0.0.2"}`),
		yes("ref §3 cidr in arrays / D-arr", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"publicIp":[{"cidr":"198.51.100.0/24"}]}}}}`), gdEvent),
		yes("ref §3 cidr IPv6 / LS content_ip_address_v6", `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8:1234:1a00::/64"}]}}`, `{"detail":{"sourceIPAddress":"2001:0db8:1234:1a00:0000:0000:0000:0000"}}`),
		no("ref §3 cidr IPv6 / LS content_ip_address_v6_NEG", `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8:1234:1a00::/64"}]}}`, `{"detail":{"sourceIPAddress":"2001:db8:1234:1a01::1"}}`),
		yes("ref §3 cidr IPv6 short event / note 6", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:db8:ffff::1"}`),
		no("ref §3 IPv4 cidr never matches IPv6 / ref §3 cidr", `{"ip":[{"cidr":"0.0.0.0/0"}]}`, `{"ip":"::1"}`),
		no("ref §3 IPv6 cidr never matches IPv4 / ref §3 cidr", `{"ip":[{"cidr":"::/0"}]}`, `{"ip":"10.0.0.1"}`),
		no("ref §3 invalid event address / LS content_ip_address_bad_type_NEG", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"10.0.0.256"}`),
		no("ref §3 cidr never matches numbers / LS content_ip_address_bad_type_NEG", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":10}`),
		no("ref §3 cidr never matches hostnames / ref §3 cidr", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"ip-10-0-0-1.ec2.internal"}`),
		yes("ref note 6 exact IPv6 canonicalised / ref note 6", p(`{"resource":{"instanceDetails":{"networkInterfaces":{"ipv6Addresses":["2001:0db8:0000:0000:0000:0000:0000:0001"]}}}}`), gdEvent),
		yes("ref note 6 exact IPv6 canonicalised / ref note 6", `{"ip":["2001:db8::1"]}`, `{"ip":"2001:DB8:0:0:0:0:0:1"}`),
		yes("ref note 6 exact IPv4 / ref note 6", `{"ip":["10.0.0.1"]}`, `{"ip":"10.0.0.1"}`),
		no("ref note 6 exact IPv4 / ref note 6", `{"ip":["10.0.0.1"]}`, `{"ip":"10.0.0.2"}`),
		yes("ref note 6 IPv4 leading zeros read as decimal / R CIDR.java (Java InetAddress)", `{"ip":["10.0.0.1"]}`, `{"ip":"010.000.000.001"}`),
		yes("ref note 6 IPv4-mapped IPv6 is IPv4 / R CIDR.java (Java InetAddress)", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::ffff:a00:1"}`),
		yes("ref §3 cidr remote IP of API call / D-gd", `{"detail":{"service":{"action":{"awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":[{"cidr":"175.16.0.0/16"}]}}}}}}`, d(`{"service":{"action":{"awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":"175.16.199.1"}}}}}`)),
		yes("ref §3 several cidrs OR / D-ops", `{"ip":[{"cidr":"10.0.0.0/8"},{"cidr":"192.168.0.0/16"}]}`, `{"ip":"192.168.1.1"}`),
		no("ref §3 several cidrs OR / D-ops", `{"ip":[{"cidr":"10.0.0.0/8"},{"cidr":"192.168.0.0/16"}]}`, `{"ip":"172.16.0.1"}`),
		yes("ref §3 nested cidrs / D-ops", `{"ip":[{"cidr":"10.0.0.0/8"}],"jp":[{"cidr":"10.1.0.0/16"}]}`, `{"ip":"10.1.2.3","jp":"10.1.2.3"}`),
	)

	// --- $or (ref §3 $or; D-md eb-filtering-complex-example-or) ---
	add(
		yes("ref §3 $or / D-md complex-example-or", p(`{"$or":[{"severity":[{"numeric":[">=",7]}]},{"type":[{"prefix":"Backdoor:"}]}]}`), gdEvent),
		no("ref §3 $or / D-md complex-example-or", p(`{"$or":[{"severity":[{"numeric":["<",7]}]},{"type":[{"prefix":"Backdoor:"}]}]}`), gdEvent),
		yes("ref §3 $or top level / D-md", `{"$or":[{"source":["aws.ec2"]},{"detail-type":["GuardDuty Finding"]}]}`, gdEvent),
		yes("ref §3 $or with AND / D-md", `{"source":["aws.guardduty"],"$or":[{"account":["1"]},{"region":["us-east-1"]}]}`, gdEvent),
		no("ref §3 $or with AND / LS complex_or_NEG", `{"source":["aws.ec2"],"$or":[{"account":["1"]},{"region":["us-east-1"]}]}`, gdEvent),
		yes("ref §3 $or nested / D-md", `{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}`, `{"c":"3"}`),
		no("ref §3 $or nested / D-md", `{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}`, `{"c":"4"}`),
		yes("ref §3 two $or multiply / D-md", `{"x":{"$or":[{"a":["1"]},{"b":["2"]}]},"y":{"$or":[{"c":["3"]},{"d":["4"]}]}}`, `{"x":{"b":"2"},"y":{"c":"3"}}`),
		no("ref §3 two $or multiply / D-md", `{"x":{"$or":[{"a":["1"]},{"b":["2"]}]},"y":{"$or":[{"c":["3"]},{"d":["4"]}]}}`, `{"x":{"b":"2"},"y":{"c":"5"}}`),
		yes("ref §3 $or branch with several fields / LS complex_or", `{"$or":[{"a":["1"],"b":["2"]},{"c":["3"]}]}`, `{"a":"1","b":"2"}`),
		no("ref §3 $or branch with several fields / LS complex_or_NEG", `{"$or":[{"a":["1"],"b":["2"]},{"c":["3"]}]}`, `{"a":"1","b":"3"}`),
		yes("ref §3 $or inside nested object / D-md", p(`{"resource":{"$or":[{"resourceType":["AccessKey"]},{"instanceDetails":{"instanceId":["i-0abc"]}}]}}`), gdEvent),
		yes("ref §3 $or with exists / LS or-exists", `{"$or":[{"a":[{"exists":true}]},{"b":[{"exists":false}]}]}`, `{"c":1}`),
		yes("ref §3 $or three branches / D-md", `{"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]}]}`, `{"b":"2"}`),
		yes("ref §3 $or field also outside / D-md", `{"a":["1"],"$or":[{"a":["2"]},{"b":["3"]}]}`, `{"a":"1","b":"3"}`),
		no("ref §3 $or field overrides / D-md", `{"a":["1"],"$or":[{"a":["2"]},{"b":["3"]}]}`, `{"a":"1","b":"4"}`),
		yes("ref §3 $or GuardDuty severity or sample / D-md", p(`{"$or":[{"severity":[{"numeric":[">=",9]}]},{"service":{"additionalInfo":{"sample":[true]}}}]}`), gdEvent),
		yes("ref §3 $or ArrayConsistency per branch / R README", p(`{"resource":{"instanceDetails":{"tags":{"$or":[{"key":["Environment"],"value":["payments"]},{"key":["Team"],"value":["payments"]}]}}}}`), gdEvent),
		yes("ref §3 exactly 1000 combinations allowed / D-md", orCombos(10, 10, 10), `{"g0":{"f0":"v0"},"g1":{"f1":"v3"},"g2":{"f2":"v9"}}`),
	)

	// --- Duplicate and dotted keys (ref §3 Duplicate keys, Dotted keys) ---
	add(
		yes("ref §3 duplicate keys last wins / LS complex_multi_key", `{"source":["aws.ec2"],"source":["aws.guardduty"]}`, gdEvent),
		no("ref §3 duplicate keys last wins / LS complex_multi_key", `{"source":["aws.guardduty"],"source":["aws.ec2"]}`, gdEvent),
		yes("ref §3 duplicate object keys merge / R JsonRuleCompiler", `{"detail":{"severity":[8]},"detail":{"region":["us-east-1"]}}`, gdEvent),
		no("ref §3 duplicate object keys merge / R JsonRuleCompiler", `{"detail":{"severity":[8]},"detail":{"region":["eu-west-1"]}}`, gdEvent),
		yes("ref §3 dotted pattern key / LS dot_joining_pattern", `{"detail.severity":[8]}`, gdEvent),
		no("ref §3 dotted pattern key / LS dot_joining_pattern_NEG", `{"detail.severity":[5]}`, gdEvent),
		yes("ref §3 dotted event key / LS dot_joining_event", `{"detail":{"severity":[8]}}`, `{"detail.severity":8}`),
		no("ref §3 dotted event key / LS dot_joining_event_NEG", `{"detail":{"severity":[8]}}`, `{"detail.severity":5}`),
		yes("ref §3 dotted both / LS dot_joining_*", `{"a.b":{"c":["x"]}}`, `{"a":{"b.c":"x"}}`),
		yes("ref §3 dotted and nested same path, last wins / R JsonRuleCompiler", `{"detail.severity":[5],"detail":{"severity":[8]}}`, gdEvent),
		yes("ref §3 dotted nested GuardDuty path / LS dot_joining_pattern", `{"detail.resource.resourceType":["Instance"]}`, gdEvent),
	)

	// --- GuardDuty response rules on the bundled-like event (D-gd) ---
	add(
		yes("D-gd high severity EC2 rule / ref §3 numeric", `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"],"detail":{"severity":[{"numeric":[">=",7]}],"resource":{"resourceType":["Instance"]}}}`, gdEvent),
		no("D-gd high severity EC2 rule skips samples / ref §3 exists", `{"source":["aws.guardduty"],"detail":{"severity":[{"numeric":[">=",7]}],"service":{"additionalInfo":{"sample":[{"exists":false}]}}}}`, gdEvent),
		yes("D-gd tor findings / ref note 3", `{"detail":{"type":[{"wildcard":"*:*/Tor*"}]}}`, gdEvent),
		yes("D-gd not archived / ref §3 anything-but", `{"detail":{"service":{"archived":[{"anything-but":"true"},false]}}}`, gdEvent),
		yes("D-gd medium band / ref §3 numeric", `{"detail":{"severity":[{"numeric":[">=",4,"<",7]},{"numeric":[">=",7,"<",9]}]}}`, gdEvent),
		no("D-gd low band / ref §3 numeric", `{"detail":{"severity":[{"numeric":[">=",1,"<",4]}]}}`, gdEvent),
		yes("D-gd outbound to known network / ref §3 cidr", `{"detail":{"service":{"action":{"actionType":["NETWORK_CONNECTION"],"networkConnectionAction":{"connectionDirection":["OUTBOUND"],"remoteIpDetails":{"ipAddressV4":[{"cidr":"81.2.0.0/16"}]}}}}}}`, gdEvent),
		yes("D-gd tagged payments / ref note 2", `{"detail":{"resource":{"instanceDetails":{"tags":{"key":["Team"],"value":[{"prefix":"pay"}]}}}}}`, gdEvent),
		yes("D-gd account allow list / D-create", `{"detail":{"accountId":["111111111111","123456789012"]}}`, gdEvent),
		no("D-gd other region / ref §3 anything-but", `{"detail":{"region":[{"anything-but":{"prefix":"us-"}}]}}`, gdEvent),
	)

	// --- Invalid patterns (messages: LS snapshot and R JsonRuleCompiler) ---
	add(
		bad("ref §3 leaf must be array / LS string_nolist_EXC", `{"string": "my-value"}`, `"string" must be an object or an array`),
		bad("ref §3 leaf must be array / LS int_nolist_EXC", `{"int": 42}`, `"int" must be an object or an array`),
		bad("ref §3 leaf must be array / R JsonRuleCompiler", `{"detail":{"severity":true}}`, `"severity" must be an object or an array`),
		bad("ref §3 leaf must be array / R JsonRuleCompiler", `{"detail":{"severity":null}}`, `"severity" must be an object or an array`),
		bad("ref §3 empty array / LS arrays_empty_EXC", `{"resources": []}`, `Empty arrays are not allowed`),
		bad("ref §3 empty object / R JsonRuleCompiler", `{}`, `Empty objects are not allowed`),
		bad("ref §3 empty nested object / R JsonRuleCompiler", `{"detail":{}}`, `Empty objects are not allowed`),
		bad("ref §3 not an object / LS test_invalid_json_event_pattern", `["not", "a", "dict", "but valid json"]`, `Filter is not an object`),
		bad("ref §3 not an object / R JsonRuleCompiler", `"x"`, `Filter is not an object`),
		bad("ref §3 not an object / R JsonRuleCompiler", ``, `Filter is not an object`),
		bad("ref §3 invalid JSON / LS test_invalid_json_event_pattern", `this is valid json but not a dict`, `Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`),
		bad("ref §3 invalid JSON / LS test_invalid_json_event_pattern", `{'bad': 'quotation'}`, `Unexpected character (''' (code 39)): was expecting double-quote to start field name`),
		bad("ref §3 invalid JSON / LS test_invalid_json_event_pattern", `{"not": closed mark"`, `Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`),
		bad("ref §3 invalid JSON / R (Jackson)", `{"a":["x"]`, `Unexpected end-of-input: expected close marker for Object`),
		bad("ref §3 invalid JSON / R (Jackson)", `{"a":["x"}`, `Unexpected character ('}' (code 125)): was expecting comma to separate Array entries`),
		bad("ref §3 invalid JSON / R (Jackson)", `{"a":["x",]}`, `Unexpected character (']' (code 93)): expected a value`),
		bad("ref §3 invalid JSON / R (Jackson)", `{"a" ["x"]}`, `Unexpected character ('[' (code 91)): was expecting a colon to separate field name and value`),
		bad("ref §3 invalid JSON / R (Jackson)", `{"a":[01]}`, `Invalid numeric value: Leading zeroes not allowed`),
		bad("ref §3 value list of arrays / R JsonRuleCompiler", `{"a":[["x"]]}`, `Match value must be String, number, true, false, or null`),
		bad("ref §3 operator names case-sensitive / LS content_numeric_operatorcasing_EXC", `{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}`, `Unrecognized match type NUMERIC`),
		bad("ref §3 operator names case-sensitive / LS operator_case_sensitive_EXC", `{"my_key": [{"EXISTS": true}]}`, `Unrecognized match type EXISTS`),
		bad("ref §2 regexp unsupported / R JsonRuleCompiler", `{"k": [{"regexp": "a.*"}]}`, `Unrecognized match type regexp`),
		bad("ref §3 empty match expression / R JsonRuleCompiler", `{"k": [{}]}`, `Match expression name not found`),
		bad("ref §3 two operators in one object / R JsonRuleCompiler", `{"k": [{"prefix": "a", "suffix": "b"}]}`, `Only one key allowed in match expression`),
		bad("ref §3 two operators, numeric first / R JsonRuleCompiler", `{"k": [{"numeric": [">", 1], "prefix": "b"}]}`, `Too many elements in numeric expression`),
		bad("ref §3 prefix list / LS content_prefix_list_EXC", `{"time": [{"prefix": ["2022-07-13"]}]}`, `prefix match pattern must be a string`),
		bad("ref §3 prefix number / LS content_prefix_int_EXC", `{"time": [{"prefix": 123}]}`, `prefix match pattern must be a string`),
		bad("ref §3 suffix number / LS content_suffix_int_EXC", `{"FileName": [{"suffix": 123}]}`, `suffix match pattern must be a string`),
		bad("ref §3 suffix list / LS content_suffix_list_EXC", `{"FileName": [{"suffix": [".png"]}]}`, `suffix match pattern must be a string`),
		bad("ref §3 prefix object other key / R JsonRuleCompiler", `{"k": [{"prefix": {"wildcard": "a"}}]}`, `Unsupported prefix pattern: wildcard`),
		bad("ref §3 suffix object other key / R JsonRuleCompiler", `{"k": [{"suffix": {"anything-but": "a"}}]}`, `Unsupported suffix pattern: anything-but`),
		bad("ref §3 prefix empty object / R JsonRuleCompiler", `{"k": [{"prefix": {}}]}`, `Prefix expression name not found`),
		bad("ref §3 prefix ignore-case number / R JsonRuleCompiler", `{"k": [{"prefix": {"equals-ignore-case": 1}}]}`, `equals-ignore-case match pattern must be a string`),
		bad("ref §3 prefix ignore-case extra key / R JsonRuleCompiler", `{"k": [{"prefix": {"equals-ignore-case": "a", "x": 1}}]}`, `Only one key allowed in match expression`),
		bad("ref §3 equals-ignore-case list / LS content_ignorecase_EXC", `{"detail-type": [{"equals-ignore-case": ["ec2 instance state-change notification"]}]}`, `equals-ignore-case match pattern must be a string`),
		bad("ref §3 equals-ignore-case nested / LS content_ignorecase_list_EXC", `{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}`, `equals-ignore-case match pattern must be a string`),
		bad("ref note 3 wildcard number / LS content_wildcard_int_EXC", `{"EventBusArn": [{"wildcard": 123}]}`, `wildcard match pattern must be a string`),
		bad("ref note 3 wildcard list / LS content_wildcard_list_EXC", `{"EventBusArn": [{"wildcard": ["arn:aws:events:us-east-1:**:event-bus/*"]}]}`, `wildcard match pattern must be a string`),
		bad("ref note 3 consecutive stars / LS content_wildcard_repeating_star_EXC", `{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}`, `Consecutive wildcard characters at pos 26`),
		bad("ref note 3 consecutive stars / R WildcardParser", `{"k": [{"wildcard": "**"}]}`, `Consecutive wildcard characters at pos 1`),
		bad("ref note 3 bad escape / R WildcardParser", `{"k": [{"wildcard": "a\\b"}]}`, `Invalid escape character at pos 2`),
		bad("ref note 3 trailing backslash / R WildcardParser", `{"k": [{"wildcard": "ab\\"}]}`, `Invalid escape character at pos 3`),
		bad("ref note 3 too complex / LS content_wildcard_complex_EXC", `{"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}`, `Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character`),
		bad("ref note 3 too complex / ref note 3", `{"k": [{"wildcard": "*a*b*c*d*e*f*g"}]}`, `Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character`),
		bad("ref §3 anything-but nested ignore-case prefix / LS content_anything_prefix_ignorecase_EXC", `{"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}`, `Value of anything-but must be an array or single string/number value.`),
		bad("ref §3 anything-but nested ignore-case suffix / LS content_anything_suffix_ignorecase_EXC", `{"detail": {"FileName": [{"anything-but": {"suffix": {"equals-ignore-case": ".png"}}}]}}`, `Value of anything-but must be an array or single string/number value.`),
		bad("ref §3 anything-but prefix empty / LS content_anything_prefix_empty_EXC", `{"k": [{"anything-but": {"prefix": ""}}]}`, `Null prefix/suffix not allowed`),
		bad("ref §3 anything-but suffix empty / LS content_anything_suffix_empty_EXC", `{"k": [{"anything-but": {"suffix": ""}}]}`, `Null prefix/suffix not allowed`),
		bad("ref §3 anything-but prefix list with empty / R JsonRuleCompiler", `{"k": [{"anything-but": {"prefix": ["a", ""]}}]}`, `Null prefix/suffix not allowed`),
		bad("ref §3 anything-but prefix number / LS content_anything_prefix_int_EXC", `{"detail": {"state": [{"anything-but": {"prefix": 123}}]}}`, `prefix/suffix match pattern must be a string`),
		bad("ref §3 anything-but prefix list type / LS content_anything_prefix_list_type_EXC", `{"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}`, `prefix/suffix match pattern must be a string`),
		bad("ref §3 anything-but suffix number / LS content_anything_suffix_int_EXC", `{"detail": {"FileName": [{"anything-but": {"suffix": 123}}]}}`, `prefix/suffix match pattern must be a string`),
		bad("ref §3 anything-but suffix list type / LS content_anything_suffix_list_type_EXC", `{"detail": {"FileName": [{"anything-but": {"suffix": [123, ".txt"]}}]}}`, `prefix/suffix match pattern must be a string`),
		bad("ref §3 anything-but ignore-case number / LS content_anything_but_ignorecase_EXC", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}`, `Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.`),
		bad("ref §3 anything-but ignore-case list numbers / LS content_anything_but_ignorecase_list_EXC", `{"detail": {"state": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}}`, `Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.`),
		bad("ref §3 anything-but wildcard number / LS content_anything_wildcard_type_EXC", `{"detail": {"FilePath": [{"anything-but": {"wildcard": 123}}]}}`, `wildcard match pattern must be a string`),
		bad("ref §3 anything-but wildcard list type / LS content_anything_wildcard_list_type_EXC", `{"detail": {"state": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}}`, `wildcard match pattern must be a string`),
		bad("ref §3 anything-but wildcard consecutive / R JsonRuleCompiler", `{"k": [{"anything-but": {"wildcard": "a**"}}]}`, `Consecutive wildcard characters at pos 2`),
		bad("ref §3 anything-but numeric / ref §3 anything-but", `{"k": [{"anything-but": {"numeric": [">", 1]}}]}`, `Unsupported anything-but pattern: numeric`),
		bad("ref §3 anything-but exists / ref §3 anything-but", `{"k": [{"anything-but": {"exists": true}}]}`, `Unsupported anything-but pattern: exists`),
		bad("ref §3 anything-but cidr / ref §3 anything-but", `{"k": [{"anything-but": {"cidr": "10.0.0.0/8"}}]}`, `Unsupported anything-but pattern: cidr`),
		bad("ref §3 anything-but empty object / R JsonRuleCompiler", `{"k": [{"anything-but": {}}]}`, `Anything-But expression name not found`),
		bad("ref §3 anything-but two keys / R JsonRuleCompiler", `{"k": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}`, `Too many elements in numeric expression`),
		bad("ref §3 anything-but mixed list / ref §3 anything-but", `{"k": [{"anything-but": ["a", 1]}]}`, `Inside anything but list, either all values are number or string, mixed type is not supported`),
		bad("ref §3 anything-but empty list / R JsonRuleCompiler", `{"k": [{"anything-but": []}]}`, `Inside anything but list, either all values are number or string, mixed type is not supported`),
		bad("ref §3 anything-but null in list / LS content_anything_but_string_list_null_type_EXC", `{"k": [{"anything-but": ["a", null]}]}`, `Inside anything but list, start|null|boolean is not supported.`),
		bad("ref §3 anything-but boolean in list / ref §3 anything-but", `{"k": [{"anything-but": [true]}]}`, `Inside anything but list, start|null|boolean is not supported.`),
		bad("ref §3 anything-but null / LS content_anything_but_string_null_type_EXC", `{"k": [{"anything-but": null}]}`, `Value of anything-but must be an array or single string/number value.`),
		bad("ref §3 anything-but boolean / R JsonRuleCompiler", `{"k": [{"anything-but": true}]}`, `Value of anything-but must be an array or single string/number value.`),
		bad("ref note 4 anything-but number out of range / R ComparableNumber", `{"k": [{"anything-but": [1e10]}]}`, `Value must be between -5.0E9 and 5.0E9, inclusive`),
		bad("ref §3 numeric not array / LS", `{"k": [{"numeric": ">"}]}`, `Value of numeric must be an array.`),
		bad("ref §3 numeric two lower bounds / LS content_numeric_EXC", `{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}`, `Bad numeric range operator: >`),
		bad("ref §3 numeric missing operand / LS content_numeric_syntax_EXC", `{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}`, `Value of < must be numeric`),
		bad("ref §3 numeric upper bound first / ref §3 numeric", `{"k": [{"numeric": ["<", 5, ">", 1]}]}`, `Too many elements in numeric expression`),
		bad("ref §3 numeric bottom >= top / ref §3 numeric", `{"k": [{"numeric": [">=", 5, "<=", 5]}]}`, `Bottom must be less than top`),
		bad("ref §3 numeric bottom > top / ref §3 numeric", `{"k": [{"numeric": [">", 9, "<", 1]}]}`, `Bottom must be less than top`),
		bad("ref §3 numeric string operand / ref §3 numeric", `{"k": [{"numeric": [">", "5"]}]}`, `Value of > must be numeric`),
		bad("ref §3 numeric equals string / R JsonRuleCompiler", `{"k": [{"numeric": ["=", "5"]}]}`, `Value of equals must be numeric`),
		bad("ref §3 numeric >= string / R JsonRuleCompiler", `{"k": [{"numeric": [">=", null]}]}`, `Value of >= must be numeric`),
		bad("ref §3 numeric <= string / R JsonRuleCompiler", `{"k": [{"numeric": ["<=", false]}]}`, `Value of <= must be numeric`),
		bad("ref §3 numeric unknown operator / R JsonRuleCompiler", `{"k": [{"numeric": ["!=", 5]}]}`, `Unrecognized numeric range operator: !=`),
		bad("ref §3 numeric operator not a string / R JsonRuleCompiler", `{"k": [{"numeric": [5, ">"]}]}`, `Invalid member in numeric match: 5`),
		bad("ref §3 numeric empty / R JsonRuleCompiler", `{"k": [{"numeric": []}]}`, `Invalid member in numeric match: ]`),
		bad("ref §3 numeric = extra / R JsonRuleCompiler", `{"k": [{"numeric": ["=", 5, "<", 6]}]}`, `Too many elements in numeric expression`),
		bad("ref §3 numeric range extra terms / R JsonRuleCompiler", `{"k": [{"numeric": [">", 1, "<", 6, "<", 7]}]}`, `Too many terms in numeric range expression`),
		bad("ref §3 numeric range bad value / R JsonRuleCompiler", `{"k": [{"numeric": [">", 1, 6]}]}`, `Bad value in numeric range: 6`),
		bad("ref note 4 numeric above limit / D-md", `{"k": [{"numeric": [">", 5000000001]}]}`, `Value must be between -5.0E9 and 5.0E9, inclusive`),
		bad("ref note 4 numeric below limit / D-md", `{"k": [{"numeric": ["<", -6e9]}]}`, `Value must be between -5.0E9 and 5.0E9, inclusive`),
		bad("ref §3 numbers overflowing a double / ref §3 Numbers", `{"k": [{"numeric": ["=", 1e400]}]}`, `Value must be between -5.0E9 and 5.0E9, inclusive`),
		bad("ref §3 exists not boolean / ref §3 exists", `{"k": [{"exists": "true"}]}`, `exists match pattern must be either true or false.`),
		bad("ref §3 exists null / ref §3 exists", `{"k": [{"exists": null}]}`, `exists match pattern must be either true or false.`),
		bad("ref §3 exists extra key / R JsonRuleCompiler", `{"k": [{"exists": true, "x": 1}]}`, `Only one key allowed in match expression`),
		bad("ref §3 cidr no slash / LS content_ip_address_EXC", `{"detail": {"sourceIPAddress": [{"cidr": "bad-filter"}]}}`, `Malformed CIDR, one '/' required`),
		bad("ref §3 cidr bad mask / LS content_ip_address_bad_mask_EXC", `{"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/abc"}]}}`, `Malformed CIDR, mask bits must be an integer`),
		bad("ref §3 cidr bad ip / LS content_ip_address_bad_ip_EXC", `{"detail": {"sourceIPAddress": [{"cidr": "xx.11.xx/8"}]}}`, `Nonstandard IP address: xx.11.xx`),
		bad("ref §3 cidr bad v6 / LS content_ip_address_v6_bad_ip_EXC", `{"detail": {"sourceIPAddress": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}}`, `Nonstandard IP address: xxxx:db8:1234:1a00::`),
		bad("ref §3 cidr list / LS content_ip_address_type_EXC", `{"detail": {"sourceIPAddress": [{"cidr": ["bad-type"]}]}}`, `prefix match pattern must be a string`),
		bad("ref §3 cidr negative mask / R CIDR.java", `{"k": [{"cidr": "10.0.0.0/-1"}]}`, `Malformed CIDR, mask bits must not be negative`),
		bad("ref note 6 cidr /32 / R CIDR.java", `{"k": [{"cidr": "10.0.0.1/32"}]}`, `IPv4 mask bits must be < 32`),
		bad("ref note 6 cidr /128 / R CIDR.java", `{"k": [{"cidr": "::1/128"}]}`, `IPv6 mask bits must be < 128`),
		bad("ref §3 cidr invalid address / R CIDR.java", `{"k": [{"cidr": "10.0.0.256/24"}]}`, `Invalid IP address: 10.0.0.256`),
		bad("ref §3 cidr two slashes / R CIDR.java", `{"k": [{"cidr": "10.0.0.0/8/8"}]}`, `Malformed CIDR, one '/' required`),
		bad("ref §3 $or one branch / R JsonRuleCompiler", `{"$or": [{"a": ["1"]}]}`, `There must have at least 2 Objects in $or relationship.`),
		bad("ref §3 $or empty / R JsonRuleCompiler", `{"$or": []}`, `There must have at least 2 Objects in $or relationship.`),
		bad("ref §3 $or not array / ref §3 $or", `{"$or": {"a": ["1"]}}`, `It must be an Array followed with $or.`),
		bad("ref §3 $or non-object branch / ref §3 $or", `{"$or": [{"a": ["1"]}, "b"]}`, `Only JSON object is allowed in array of $or relationship.`),
		bad("ref §3 $or reserved name / ref §3 $or", `{"$or": [{"numeric": [1]}, {"b": ["2"]}]}`, `numeric is Ruler reserved fieldName which cannot be used inside $or.`),
		bad("ref §3 $or reserved name nested / ref §3 $or", `{"$or": [{"a": {"prefix": ["x"]}}, {"b": ["2"]}]}`, `prefix is Ruler reserved fieldName which cannot be used inside $or.`),
		bad("ref §3 $or empty branch / R JsonRuleCompiler", `{"$or": [{}, {"b": ["2"]}]}`, `Empty objects are not allowed`),
		bad("ref §3 $or over 1000 combinations / D-md", orCombos(10, 10, 11), `The $or combinations in the pattern are more than the limit of 1000`),
		bad("ref §3 first error in document order / R JsonRuleCompiler", `{"a": "x", "b": []}`, `"a" must be an object or an array`),
		bad("ref §3 first error in document order / R JsonRuleCompiler", `{"b": [], "a": "x"}`, `Empty arrays are not allowed`),
	)
	return cs
}

// orCombos builds a pattern whose $or arrays multiply to a*b*c sub-rules.
func orCombos(counts ...int) string {
	var parts []string
	for i, n := range counts {
		var branches []string
		for j := 0; j < n; j++ {
			branches = append(branches, fmt.Sprintf(`{"f%d":["v%d"]}`, i, j))
		}
		parts = append(parts, fmt.Sprintf(`"g%d":{"$or":[%s]}`, i, strings.Join(branches, ",")))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestConformance(t *testing.T) {
	cases := conformanceCases()
	if len(cases) < 300 {
		t.Errorf("conformance table has %d cases, want at least 300", len(cases))
	}
	for i, c := range cases {
		name := fmt.Sprintf("%03d", i)
		t.Run(name, func(t *testing.T) {
			if c.source == "" {
				t.Fatal("case without a source")
			}
			pat, err := ParseOptions{MaxSize: -1}.Parse([]byte(c.pattern))
			if c.err != "" {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("%s\npattern %s: got %v, want error %q", c.source, c.pattern, err, c.err)
				}
				if pe.Msg != c.err {
					t.Fatalf("%s\npattern %s:\n got  %q\n want %q", c.source, c.pattern, pe.Msg, c.err)
				}
				if got := err.Error(); got != "Event pattern is not valid. Reason: "+c.err {
					t.Fatalf("Error() = %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\npattern %s: unexpected error %v", c.source, c.pattern, err)
			}
			got, err := pat.Match([]byte(c.event))
			if err != nil {
				t.Fatalf("%s: event error %v", c.source, err)
			}
			if got != c.match {
				t.Fatalf("%s\npattern %s\nevent %s\ngot %v, want %v", c.source, c.pattern, c.event, got, c.match)
			}
			// The naive matcher must agree (it shares only the parser).
			doc, err := naiveDecode([]byte(c.event))
			if err != nil {
				t.Fatal(err)
			}
			if n := naiveMatch(pat, doc); n != c.match {
				t.Fatalf("naive matcher disagrees: %v", n)
			}
			// And the canonical form means the same.
			again, err := ParseOptions{MaxSize: -1}.Parse([]byte(pat.String()))
			if err != nil {
				t.Fatalf("String() %s does not parse: %v", pat.String(), err)
			}
			if g, _ := again.Match([]byte(c.event)); g != c.match {
				t.Fatalf("String() %s matches differently", pat.String())
			}
		})
	}
}
