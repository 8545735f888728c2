package finding

import "encoding/json"

// Service is the finding's service block: what GuardDuty observed, how often
// and when.
type Service struct {
	ServiceName    string          `json:"serviceName"`
	DetectorID     string          `json:"detectorId"`
	Action         *Action         `json:"action"`
	Evidence       *Evidence       `json:"evidence"`
	Archived       bool            `json:"archived"`
	Count          int64           `json:"count"`
	EventFirstSeen Timestamp       `json:"eventFirstSeen"`
	EventLastSeen  Timestamp       `json:"eventLastSeen"`
	ResourceRole   string          `json:"resourceRole"` // TARGET or ACTOR
	FeatureName    string          `json:"featureName"`
	UserFeedback   string          `json:"userFeedback"`
	AdditionalInfo json.RawMessage `json:"additionalInfo"` // free-form per finding type

	RuntimeDetails       *RuntimeDetails `json:"runtimeDetails"`
	Detection            *Detection      `json:"detection"`
	EBSVolumeScanDetails json.RawMessage `json:"ebsVolumeScanDetails"`
	MalwareScanDetails   json.RawMessage `json:"malwareScanDetails"`
}

// The action types of service.action.actionType.
const (
	ActionAWSAPICall        = "AWS_API_CALL"
	ActionNetworkConnection = "NETWORK_CONNECTION"
	ActionDNSRequest        = "DNS_REQUEST"
	ActionPortProbe         = "PORT_PROBE"
	ActionKubernetesAPICall = "KUBERNETES_API_CALL"
	ActionRDSLoginAttempt   = "RDS_LOGIN_ATTEMPT"
)

// Action is what was observed. ActionType says which of the pointers is set;
// runtime, malware and attack-sequence findings have no action.
type Action struct {
	ActionType              string                   `json:"actionType"`
	AWSAPICallAction        *AWSAPICallAction        `json:"awsApiCallAction"`
	NetworkConnectionAction *NetworkConnectionAction `json:"networkConnectionAction"`
	DNSRequestAction        *DNSRequestAction        `json:"dnsRequestAction"`
	PortProbeAction         *PortProbeAction         `json:"portProbeAction"`
	KubernetesAPICallAction *KubernetesAPICallAction `json:"kubernetesApiCallAction"`
	RDSLoginAttemptAction   *RDSLoginAttemptAction   `json:"rdsLoginAttemptAction"`

	KubernetesPermissionCheckedDetails *struct {
		Verb      string `json:"verb"`
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Allowed   bool   `json:"allowed"`
	} `json:"kubernetesPermissionCheckedDetails"`
	KubernetesRoleBindingDetails *struct {
		Kind        string `json:"kind"`
		Name        string `json:"name"`
		UID         string `json:"uid"`
		RoleRefName string `json:"roleRefName"`
		RoleRefKind string `json:"roleRefKind"`
	} `json:"kubernetesRoleBindingDetails"`
	KubernetesRoleDetails *struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"kubernetesRoleDetails"`
}

// AWSAPICallAction is an AWS API call GuardDuty judged suspicious.
type AWSAPICallAction struct {
	API           string `json:"api"`
	ServiceName   string `json:"serviceName"`
	CallerType    string `json:"callerType"`
	ErrorCode     string `json:"errorCode"`
	UserAgent     string `json:"userAgent"`
	DomainDetails *struct {
		Domain string `json:"domain"`
	} `json:"domainDetails"`
	RemoteIPDetails      *RemoteIPDetails `json:"remoteIpDetails"`
	RemoteAccountDetails *struct {
		AccountID      string `json:"accountId"`
		Affiliated     bool   `json:"affiliated"`
		AWSServiceName string `json:"awsServiceName"`
	} `json:"remoteAccountDetails"`
	AffectedResources map[string]string `json:"affectedResources"`
}

// NetworkConnectionAction is a network connection to or from a resource.
type NetworkConnectionAction struct {
	ConnectionDirection   string           `json:"connectionDirection"` // INBOUND, OUTBOUND, UNKNOWN
	Protocol              string           `json:"protocol"`
	Blocked               bool             `json:"blocked"`
	LocalIPDetails        *LocalIPDetails  `json:"localIpDetails"`
	LocalPortDetails      *PortDetails     `json:"localPortDetails"`
	RemoteIPDetails       *RemoteIPDetails `json:"remoteIpDetails"`
	RemotePortDetails     *PortDetails     `json:"remotePortDetails"`
	LocalNetworkInterface string           `json:"localNetworkInterface"`
}

// DNSRequestAction is a DNS query made from a resource.
type DNSRequestAction struct {
	Domain            string `json:"domain"`
	DomainWithSuffix  string `json:"domainWithSuffix"`
	Protocol          string `json:"protocol"`
	Blocked           bool   `json:"blocked"`
	VPCOwnerAccountID string `json:"vpcOwnerAccountId"`
}

// PortProbeAction is a series of probes against a resource's ports.
type PortProbeAction struct {
	Blocked          bool `json:"blocked"`
	PortProbeDetails []struct {
		LocalIPDetails   *LocalIPDetails  `json:"localIpDetails"`
		LocalPortDetails *PortDetails     `json:"localPortDetails"`
		RemoteIPDetails  *RemoteIPDetails `json:"remoteIpDetails"`
	} `json:"portProbeDetails"`
}

// KubernetesAPICallAction is a call to a Kubernetes API server.
type KubernetesAPICallAction struct {
	RequestURI      string           `json:"requestUri"`
	Verb            string           `json:"verb"`
	Resource        string           `json:"resource"`
	Subresource     string           `json:"subresource"`
	Namespace       string           `json:"namespace"`
	ResourceName    string           `json:"resourceName"`
	SourceIPs       []string         `json:"sourceIPs"`
	UserAgent       string           `json:"userAgent"`
	StatusCode      int              `json:"statusCode"`
	RemoteIPDetails *RemoteIPDetails `json:"remoteIpDetails"`
	Parameters      string           `json:"parameters"`
}

// RDSLoginAttemptAction is a series of database logins.
type RDSLoginAttemptAction struct {
	RemoteIPDetails *RemoteIPDetails `json:"remoteIpDetails"`
	// LoginAttributes is capitalised on the wire, unlike every other field.
	LoginAttributes []struct {
		User                    string `json:"user"`
		Application             string `json:"application"`
		FailedLoginAttempts     int64  `json:"failedLoginAttempts"`
		SuccessfulLoginAttempts int64  `json:"successfulLoginAttempts"`
	} `json:"LoginAttributes"`
}

// LocalIPDetails is the resource's own address in a connection.
type LocalIPDetails struct {
	IPAddressV4 string `json:"ipAddressV4"`
	IPAddressV6 string `json:"ipAddressV6"`
}

// PortDetails is a port and its well-known name.
type PortDetails struct {
	Port     int    `json:"port"`
	PortName string `json:"portName"`
}

// RemoteIPDetails is the other side of an action, with GuardDuty's
// geolocation and ownership data.
type RemoteIPDetails struct {
	IPAddressV4  string `json:"ipAddressV4"`
	IPAddressV6  string `json:"ipAddressV6"`
	Organization *struct {
		ASN    string `json:"asn"` // a string on the wire
		ASNOrg string `json:"asnOrg"`
		ISP    string `json:"isp"`
		Org    string `json:"org"`
	} `json:"organization"`
	Country *struct {
		CountryCode string `json:"countryCode"`
		CountryName string `json:"countryName"`
	} `json:"country"`
	City *struct {
		CityName string `json:"cityName"`
	} `json:"city"`
}

// IP returns the remote address, IPv4 first.
func (r *RemoteIPDetails) IP() string {
	if r == nil {
		return ""
	}
	if r.IPAddressV4 != "" {
		return r.IPAddressV4
	}
	return r.IPAddressV6
}

// Evidence is the threat intelligence behind a finding.
type Evidence struct {
	ThreatIntelligenceDetails []struct {
		ThreatListName   string   `json:"threatListName"`
		ThreatNames      []string `json:"threatNames"`
		ThreatFileSHA256 string   `json:"threatFileSha256"`
	} `json:"threatIntelligenceDetails"`
}

// RuntimeDetails is what GuardDuty Runtime Monitoring saw on a host. The
// strings are attacker-controlled: escape them before display.
type RuntimeDetails struct {
	Process *RuntimeProcess `json:"process"`
	Context json.RawMessage `json:"context"`
}

// RuntimeProcess is the process of a runtime finding.
type RuntimeProcess struct {
	Name             string    `json:"name"`
	ExecutablePath   string    `json:"executablePath"`
	ExecutableSHA256 string    `json:"executableSha256"`
	Pwd              string    `json:"pwd"`
	PID              int64     `json:"pid"`
	NamespacePID     int64     `json:"namespacePid"`
	User             string    `json:"user"`
	UserID           int64     `json:"userId"`
	EUID             int64     `json:"euid"`
	UUID             string    `json:"uuid"`
	ParentUUID       string    `json:"parentUuid"`
	StartTime        Timestamp `json:"startTime"`
}

// Detection holds Extended Threat Detection data: anomalies and attack
// sequences.
type Detection struct {
	Anomaly  json.RawMessage `json:"anomaly"`
	Sequence *Sequence       `json:"sequence"`
}

// Sequence is an attack sequence: the resources, actors and signals GuardDuty
// correlated.
type Sequence struct {
	UID         string             `json:"uid"`
	Description string             `json:"description"`
	Resources   []SequenceResource `json:"resources"`
	Actors      []struct {
		ID   string `json:"id"`
		User *struct {
			Name          string `json:"name"`
			UID           string `json:"uid"`
			Type          string `json:"type"`
			CredentialUID string `json:"credentialUid"`
			Account       *struct {
				UID  string `json:"uid"`
				Name string `json:"account"`
			} `json:"account"`
		} `json:"user"`
	} `json:"actors"`
	Signals json.RawMessage `json:"signals"`
}

// SequenceResource is a resource involved in an attack sequence (the API's
// ResourceV2).
type SequenceResource struct {
	UID            string `json:"uid"`
	Name           string `json:"name"`
	AccountID      string `json:"accountId"`
	ResourceType   string `json:"resourceType"` // EC2_INSTANCE, S3_BUCKET, ACCESS_KEY …
	Region         string `json:"region"`
	Service        string `json:"service"`
	CloudPartition string `json:"cloudPartition"`
	Tags           []Tag  `json:"tags"`
}
